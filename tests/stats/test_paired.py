"""The paired bootstrap: same resampled seconds for both arms, so shared noise cancels."""

from __future__ import annotations

import math

import pytest

from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.blocks import SparseBlocks
from dhakacart_bench.stats.bootstrap import compare_p95
from dhakacart_bench.stats.paired import paired_compare
from tests.gate.ab_cells_synth import arms


def test_shared_slowdown_cancels_in_the_paired_interval() -> None:
    # every third second both arms are 3x slower: huge common noise, no difference
    slow = {s: 3.0 for s in range(0, 30, 3)}
    cand, base = arms(seconds=30, shared_slowdown=slow, seed=3)
    paired = paired_compare(cand[TOTAL], base[TOTAL], z=1.96, resamples=400)
    assert paired is not None
    assert paired.ci_low < 1.0 < paired.ci_high
    paired_width = paired.ci_high - paired.ci_low

    # the same data resampled independently per arm (the baseline-file gate's way)
    def blocks(cells: dict) -> SparseBlocks:
        return SparseBlocks(1, 0, tuple((c.idx, c.cnt) for _, c in sorted(cells.items())))

    unpaired = compare_p95(
        blocks(cand[TOTAL]),
        blocks(base[TOTAL]),
        run_p95_ms=paired.candidate_ms,
        baseline_p95_ms=paired.baseline_ms,
        resamples=400,
        confidence=0.95,
    )
    assert paired_width < 0.5 * (unpaired.ci_high - unpaired.ci_low)


def test_a_real_difference_is_measured_with_an_interval_around_it() -> None:
    cand, base = arms(seconds=20, candidate_factor=1.2, seed=5)
    stats = paired_compare(cand[TOTAL], base[TOTAL], z=1.96, resamples=300)
    assert stats is not None
    assert 1.12 < stats.ratio < 1.28
    assert stats.ci_low < stats.ratio < stats.ci_high
    assert stats.ci_low > 1.05
    assert stats.seconds == 20
    assert stats.requests_candidate == stats.requests_baseline == 20 * 200


def test_only_shared_seconds_count_and_none_without_any() -> None:
    cand, base = arms(seconds=10)
    only_early = {s: c for s, c in base[TOTAL].items() if s < 4}
    stats = paired_compare(cand[TOTAL], only_early, z=2.0, resamples=100)
    assert stats is not None and stats.seconds == 4
    assert paired_compare(cand[TOTAL], {}, z=2.0) is None


def test_error_rate_difference_has_an_interval() -> None:
    cand, base = arms(seconds=20, failure_rate=(0.05, 0.0), seed=2)
    stats = paired_compare(cand[TOTAL], base[TOTAL], z=1.96, resamples=300)
    assert stats is not None
    assert stats.error_rate_baseline == 0.0
    assert stats.error_diff == pytest.approx(0.05, abs=0.01)
    assert stats.error_low > 0.03


def test_point_estimate_is_the_exact_p95_of_the_shared_seconds() -> None:
    cand, base = arms(seconds=5, seed=9)
    stats = paired_compare(cand[TOTAL], base[TOTAL], z=2.0, resamples=100)
    assert stats is not None
    assert math.isclose(stats.ratio, stats.candidate_ms / stats.baseline_ms)


def test_a_candidate_several_times_slower_keeps_the_baselines_own_p95() -> None:
    # every candidate request slower than every baseline one: the buckets merged below
    # a cut must stay below *both* arms' p95 (a cut at the pooled median put the whole
    # baseline under it and read its p95 as the cut's value: "49 ms vs 43 ms", +15 %,
    # for a baseline whose own p95 was 7 ms)
    from dhakacart_bench.stats.blocks import merge_sparse
    from dhakacart_bench.stats.bootstrap import bucket_values_ms

    cand, base = arms(seconds=20, candidate_factor=7.0, seed=9)
    paired = paired_compare(cand[TOTAL], base[TOTAL], z=1.96, resamples=200)
    assert paired is not None

    def p95_ms(cells: dict) -> float:
        import numpy as np

        idx, cnt = merge_sparse([(c.idx, c.cnt) for c in cells.values()])
        cumulative = np.cumsum(cnt)
        return float(bucket_values_ms(idx)[np.searchsorted(cumulative, 0.95 * cumulative[-1])])

    assert paired.baseline_ms == pytest.approx(p95_ms(base[TOTAL]), rel=0.01)
    assert paired.candidate_ms == pytest.approx(p95_ms(cand[TOTAL]), rel=0.01)
    assert paired.ratio == pytest.approx(7.0, rel=0.1)
    assert paired.ci_low > 5.0
