"""The block bootstrap behind the gate's regression rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dhakacart_bench.gate.baseline import Baseline, load_baseline
from dhakacart_bench.gate.result import GateResult, RuleResult
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.runfolder.reader import Run, load_run
from dhakacart_bench.stats.blocks import SparseBlocks, sparse_counts
from dhakacart_bench.stats.bootstrap import compare_p95
from dhakacart_bench.stats.hdr import hist_stats
from tests.synthetic import write_synthetic_run

A, B, C = "GET /api/a", "GET /api/b", "POST /api/c"
ENDPOINTS = {A: 10.0, B: 20.0, C: 40.0}


GATE = {"p95_regression_pct": 10.0, "endpoints": ["*", A], "min_requests": 100}


def run_of(
    tmp_path: Path,
    *,
    seed: int,
    factor: dict[str, float] | None = None,
    **kwargs: Any,
) -> Run:
    """A steady 30-second run (60 requests/s per endpoint); ``factor`` scales latencies."""
    scale = factor or {}
    base_ms: dict[str, float] = kwargs.pop("endpoints", ENDPOINTS)
    options: dict[str, Any] = {
        "seconds": 30,
        "endpoints": base_ms,
        "users_profile": lambda s: 36,
        "latency_model": lambda e, u: base_ms[e] * scale.get(e, 1.0),
        "gate": GATE,
        "seed": seed,
        "name": f"run-{seed}-{sorted(scale.items())}",
    }
    options.update(kwargs)
    return load_run(write_synthetic_run(tmp_path, **options))


@pytest.fixture
def baseline(tmp_path: Path) -> Baseline:
    return load_baseline(run_of(tmp_path / "base", seed=1).path)


def rule(result: GateResult, kind: str, endpoint: str = "*", metric: str = "") -> RuleResult:
    found = [
        r
        for r in result.rules
        if r.kind == kind and r.endpoint == endpoint and (not metric or r.metric == metric)
    ]
    assert len(found) == 1, result.rules
    return found[0]


def test_bootstrap_percentiles_follow_hist_stats(tmp_path: Path) -> None:
    """With one block every resample is that block: the value must equal hist_stats's."""
    run = run_of(tmp_path, seed=2)
    hist = run.histogram(C)
    one = SparseBlocks(1, hist.counts_len, (sparse_counts(hist),))
    p95 = hist_stats(hist).p95_ms or 0.0
    stats = compare_p95(one, one, run_p95_ms=p95, baseline_p95_ms=p95, resamples=100)
    assert stats.ci_low == stats.ci_high == stats.ratio == 1.0
    assert stats.noise_pct == 0.0


def test_the_bootstrap_is_seeded(tmp_path: Path, baseline: Baseline) -> None:
    run = run_of(tmp_path, seed=2, factor={A: 1.1})
    first = rule(evaluate_gate(run, baseline=baseline), "regression", A).regression
    again = rule(evaluate_gate(run, baseline=baseline), "regression", A).regression
    assert first == again
