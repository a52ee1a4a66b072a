"""The report shows the target's CPU beside the generator's (and the others')."""

from __future__ import annotations

from dhakacart_bench.measure.health import assess_host
from dhakacart_bench.report.context import build_context
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun, rewrite_meta


def test_the_targets_cpu_is_beside_the_generators(make_run: MakeRun) -> None:
    path = make_run(seconds=12)
    machine = assess_host(
        [0.05] * 12,
        target_samples=[1.0] * 3 + [1.2] * 8 + [1.6],  # the first 3 s are warm-up
        target_pids=[4321],
        target_source="listening on port 8001",
    )
    rewrite_meta(path, machine=machine)
    cpu = build_context(load_run(path), charts=False)["generator"]["cpu"]
    assert "load generator " in cpu
    assert "target 1.24 cores on average, at most 1.60 (listening on port 8001)" in cpu
    assert "other processes 0.05 cores on average (quiet machine)" in cpu


def test_an_unknown_target_says_so(make_run: MakeRun) -> None:
    cpu = build_context(load_run(make_run(seconds=6)), charts=False)["generator"]["cpu"]
    assert "target not on this machine, or not found (see --target-pid)" in cpu
