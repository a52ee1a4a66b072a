"""Analysis: from a run folder to answers — SLO results, the verdict, reliability,
capacity, the capacity plan and run-to-run comparison.

Plain functions over a :class:`~dhakacart_bench.runfolder.reader.Run`, returning frozen
dataclasses; nothing here measures, renders or writes. Every percentile comes from the
run's HDR histograms, merged exactly and never averaged. This stage never imports the
measuring stage: it works on a folder written yesterday, on another machine.
"""
