"""The deploy gate: may this build go out? An exit code, with evidence.

Rules (:mod:`~dhakacart_bench.gate.rules`) evaluated into a result
(:mod:`~dhakacart_bench.gate.result`) against a baseline (:mod:`~dhakacart_bench.gate.baseline`),
rendered as text and Markdown (:mod:`~dhakacart_bench.gate.summary`) and JUnit XML
(:mod:`~dhakacart_bench.gate.junit`). The statistics live in :mod:`dhakacart_bench.stats`.
"""
