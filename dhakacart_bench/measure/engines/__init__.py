"""Engines: how the load is generated — one Locust process, or a master and its workers.

Each engine implements :class:`~dhakacart_bench.measure.engines.base.Engine`; the
orchestrator drives it without knowing which one it is. Engines never import the
orchestrator.
"""
