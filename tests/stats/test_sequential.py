"""Group-sequential boundaries: checked against simulated Brownian motion, not against
the integration that computed them."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from dhakacart_bench.stats.sequential import (
    DEFAULT_HSD_GAMMA,
    LookPlan,
    hsd_spent,
    spending_bounds,
)

#: the default plan of ab-smoke: first look at 15 s, every 5 s, 60 s budget, 5 s warm-up
PLAN = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=5, hsd_gamma=-2)


def _crossings(fractions: tuple[float, ...], bounds: tuple[float, ...], paths: int, seed: int):
    """Per look, the share of simulated paths whose |Z| first reaches its boundary there:
    Z_k = B(t_k) / sqrt(t_k) with B a standard Brownian motion."""
    rng = np.random.default_rng(seed)
    steps = np.diff(np.concatenate([[0.0], fractions]))
    score = np.cumsum(rng.standard_normal((paths, len(steps))) * np.sqrt(steps), axis=1)
    z = np.abs(score) / np.sqrt(np.asarray(fractions))
    crossed = z >= np.asarray(bounds)
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    return np.array([(first == k).mean() for k in range(len(steps))])


@pytest.mark.parametrize("alpha", [0.025, 0.00625])
def test_the_boundaries_spend_alpha_as_planned(alpha: float) -> None:
    fractions = PLAN.fractions()
    bounds = spending_bounds(fractions, alpha, DEFAULT_HSD_GAMMA)
    shares = _crossings(fractions, bounds, paths=400_000, seed=7)
    se = math.sqrt(alpha * (1 - alpha) / 400_000)
    # the whole run: a false alarm with probability alpha, not more (and not much less)
    assert shares.sum() == pytest.approx(alpha, abs=4 * se)
    # and look by look as the spending function says
    planned = np.diff([0.0, *(hsd_spent(t, alpha, DEFAULT_HSD_GAMMA) for t in fractions)])
    assert shares == pytest.approx(planned, abs=max(4 * se, 0.1 * alpha))


def test_bonferroni_over_looks_wastes_what_the_correlation_gives_back() -> None:
    # intervals at Bonferroni's width over the same looks cover far more than 1 - alpha
    fractions = PLAN.fractions()
    bonferroni = NormalDist().inv_cdf(1 - 0.025 / len(fractions) / 2)
    wasted = _crossings(fractions, (bonferroni,) * len(fractions), paths=200_000, seed=8)
    assert wasted.sum() < 0.6 * 0.025
    # the spending schedule's last looks are narrower; its first about as wide
    exact = spending_bounds(fractions, 0.025, DEFAULT_HSD_GAMMA)
    assert exact[-1] < 0.85 * bonferroni
    assert exact[0] == pytest.approx(bonferroni, rel=0.06)


def test_one_look_is_the_fixed_sample_interval() -> None:
    assert spending_bounds((1.0,), 0.05, -2.0) == pytest.approx((1.95996,), abs=1e-4)
    plan = LookPlan(min_s=60, every_s=5, max_s=60, min_requests=1, alpha=0.05, hsd_gamma=-2)
    assert plan.looks == 1 and plan.z(1) == pytest.approx(1.95996, abs=1e-4)


def test_a_look_uses_its_planned_boundary_and_old_plans_keep_bonferroni() -> None:
    bounds = spending_bounds(PLAN.fractions(), 0.025, DEFAULT_HSD_GAMMA)
    assert PLAN.z(2, 15) == bounds[0] and PLAN.z(2, 20) == bounds[1]
    assert PLAN.z(2, 22.5) == bounds[1]  # between looks: the last planned one at or before
    assert PLAN.z(2) == PLAN.z(2, 60) == PLAN.z(2, 75) == bounds[-1]
    assert PLAN.confidence(2, 60) == pytest.approx(2 * NormalDist().cdf(bounds[-1]) - 1)
    old = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=5)
    assert old.z(2, 15) == old.z(2) == pytest.approx(NormalDist().inv_cdf(1 - 0.025 / 10 / 2))
    assert "Hwang-Shih-DeCani" in PLAN.method and "Bonferroni" in old.method


def test_spending_reaches_alpha_at_the_end_and_linear_without_curvature() -> None:
    assert hsd_spent(1.0, 0.05, -2.0) == 0.05 and hsd_spent(1.3, 0.05, -2.0) == 0.05
    assert hsd_spent(0.5, 0.05, 0.0) == pytest.approx(0.025)
    assert hsd_spent(0.5, 0.05, -2.0) < 0.025 < hsd_spent(0.5, 0.05, 1.0)
