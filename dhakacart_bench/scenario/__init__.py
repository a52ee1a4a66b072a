"""Scenarios: TOML files in, frozen, validated dataclasses out.

The model (:mod:`~dhakacart_bench.scenario.model`), the SLO metrics
(:mod:`~dhakacart_bench.scenario.metrics`), the TOML validator
(:mod:`~dhakacart_bench.scenario.tables`), the parser (:mod:`~dhakacart_bench.scenario.parse`,
:mod:`~dhakacart_bench.scenario.parse_checks`), and finding scenarios and locustfiles
(:mod:`~dhakacart_bench.scenario.lookup`, :mod:`~dhakacart_bench.scenario.resources`).
Locust is never imported here: user classes are checked on the locustfile's syntax tree.
"""
