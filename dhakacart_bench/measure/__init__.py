"""Measuring: run a scenario with Locust as a library and record every request exactly.

The only stage that imports locust (which monkey-patches gevent at import): the
orchestrator (:mod:`~dhakacart_bench.measure.run`), the engines (one process, a master
and its workers), the HDR recorder, load shapes, the open model's arrivals, the
generator's self-check and the sidecars (probe, events). Importing this package itself
imports nothing.
"""
