"""The USL fit and the throughput knee on known curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dhakacart_bench.stats.usl import find_knee, fit_usl
from tests.synthetic import (
    usl_throughput,
)


@pytest.mark.parametrize(
    ("lam", "sigma", "kappa"), [(5.0, 0.02, 0.0005), (120.0, 0.1, 0.001), (2.0, 0.0, 0.0002)]
)
def test_usl_fit_recovers_known_parameters(lam: float, sigma: float, kappa: float) -> None:
    rng = np.random.default_rng(3)
    n = np.array([1, 5, 10, 20, 30, 40, 60, 80, 100, 130, 160], dtype=float)
    x = np.array([usl_throughput(lam, sigma, kappa)(v) for v in n]) * rng.normal(1, 0.01, len(n))
    fit = fit_usl(n.tolist(), x.tolist())
    assert fit.ok, fit.reason
    assert fit.lam == pytest.approx(lam, rel=0.05)
    assert fit.sigma == pytest.approx(sigma, abs=0.02)
    assert fit.kappa == pytest.approx(kappa, rel=0.2)
    true_star = math.sqrt((1 - sigma) / kappa)
    assert fit.n_star == pytest.approx(true_star, rel=0.1)
    assert fit.n_star_interval is not None
    assert fit.n_star_interval[0] <= fit.n_star <= fit.n_star_interval[1]
    assert fit.ceiling_rps == pytest.approx(usl_throughput(lam, sigma, kappa)(true_star), rel=0.05)


def test_usl_gives_no_estimate_when_data_cannot_support_one() -> None:
    few = fit_usl([10, 20, 30], [50, 90, 120])
    assert not few.ok and "at least 4" in few.reason
    linear = fit_usl([10, 20, 40, 80], [50, 100, 200, 400])
    assert not linear.ok and "κ ≈ 0" in linear.reason
    noisy = fit_usl([10, 20, 30, 40, 50, 60], [300, 40, 250, 60, 280, 30])
    assert not noisy.ok and ("poor" in noisy.reason or "shape" in noisy.reason)


def test_find_knee() -> None:
    users = [10, 20, 30, 40, 50]
    assert find_knee(users, [100, 200, 300, 400, 500]) is None
    assert find_knee(users, [100, 200, 290, 300, 295]) == 2
    assert find_knee(users, [100, 200, 200, 400, 500]) is None  # one flat step is noise
    assert find_knee([10], [100]) is None
