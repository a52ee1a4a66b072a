"""The run folder: the contract between measuring and analysing (docs/run-folder.md).

Its layout and file formats (:mod:`~dhakacart_bench.runfolder.layout`), the typed
contents of its JSON files (:mod:`~dhakacart_bench.runfolder.meta`), the measured windows
(:mod:`~dhakacart_bench.runfolder.windows`), the writer and the reader. ``bench report``
and ``bench gate`` work on a folder produced yesterday, on another machine.
"""
