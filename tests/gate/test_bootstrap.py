"""The block bootstrap behind the gate's regression rule, on steady synthetic runs."""

from __future__ import annotations

from pathlib import Path

from dhakacart_bench.gate.baseline import Baseline
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.stats.blocks import SparseBlocks, sparse_counts
from dhakacart_bench.stats.bootstrap import compare_p95
from dhakacart_bench.stats.hdr import hist_stats
from tests.gate.runs import A, C, rule, run_of


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
