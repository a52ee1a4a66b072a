"""Sidecars: things that run beside the load for the length of a run.

The load itself is Locust's; a sidecar does something else on a clock while it runs —
probe availability at a fixed rate (:mod:`~dhakacart_bench.measure.sidecars.probe`),
trigger a deploy or a fault at a set time (:mod:`~dhakacart_bench.measure.sidecars.events`)
— and returns a JSON-able section that the runner stores in run.json under
``"sidecars"`` → its name.
"""
