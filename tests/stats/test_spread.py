"""The between-instance spread: what A/A ratios vary by beyond their within-run noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dhakacart_bench.stats.spread import (
    UPPER_COVERAGE,
    chi2_quantile,
    instance_spread,
    with_spread,
)


@pytest.mark.parametrize(
    ("p", "dof", "exact", "rel"),
    [(0.10, 3, 0.5844, 0.015), (0.10, 5, 1.6103, 0.002), (0.10, 10, 4.8652, 0.001),
     (0.10, 20, 12.443, 0.001), (0.90, 10, 15.987, 0.002)],
)  # fmt: skip
def test_chi2_quantile_is_close_to_the_table(p: float, dof: int, exact: float, rel: float) -> None:
    assert chi2_quantile(p, dof) == pytest.approx(exact, rel=rel)


def _aa(rng: np.random.Generator, runs: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """A/A log ratios: each run a steady instance difference N(0, spread²) plus its own
    within-run noise N(0, se²), se from 1 % to 3 %."""
    se = rng.uniform(0.01, 0.03, runs)
    return rng.normal(0, spread, runs) + rng.normal(0, se), se


def test_a_steady_difference_between_instances_is_recovered() -> None:
    logs, se = _aa(np.random.default_rng(5), 4000, 0.03)
    got = instance_spread(logs.tolist(), se.tolist())
    assert got.sd == pytest.approx(0.03, rel=0.05)
    assert got.sd < got.upper < 0.033
    assert got.rms_log_ratio > got.sd  # the ratios moved by both
    assert got.runs == 4000


def test_no_spread_when_ratios_vary_only_by_their_own_noise() -> None:
    logs, se = _aa(np.random.default_rng(6), 4000, 0.0)
    got = instance_spread(logs.tolist(), se.tolist())
    assert got.sd < 0.3 * float(np.sqrt(np.mean(se**2)))


def test_a_steady_lean_of_one_arm_counts_as_spread() -> None:
    # every A/A run 3 % slower on the candidate arm (the store started second, say):
    # measured about 0, not about the runs' mean, so it is not explained away
    se = np.full(50, 0.01)
    got = instance_spread([math.log(1.03)] * 50, se.tolist())
    assert got.sd == pytest.approx(math.sqrt(math.log(1.03) ** 2 - 0.01**2), rel=1e-9)


def test_the_upper_bound_covers_the_true_spread_as_often_as_it_says() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    trials = 2000
    for _ in range(trials):
        se = np.full(10, 0.02)
        logs = rng.normal(0, 0.03, 10) + rng.normal(0, se)
        covered += instance_spread(logs.tolist(), se.tolist()).upper >= 0.03
    assert covered / trials == pytest.approx(UPPER_COVERAGE, abs=0.03)


def test_few_runs_or_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        instance_spread([0.01, -0.02], [0.01, 0.01])
    with pytest.raises(ValueError, match="3 log ratios but 2"):
        instance_spread([0.01, -0.02, 0.0], [0.01, 0.01])
    with pytest.raises(ValueError, match="positive within-run"):
        instance_spread([0.01, -0.02, 0.0], [0.01, 0.0, 0.01])
    with pytest.raises(ValueError, match="finite log ratio"):
        instance_spread([0.01, math.inf, 0.0], [0.01, 0.01, 0.01])


def test_the_spread_adds_in_quadrature() -> None:
    assert with_spread(0.03, 0.04) == pytest.approx(0.05)
    assert with_spread(0.02, 0.0) == 0.02
    assert with_spread(math.inf, 0.03) == math.inf
