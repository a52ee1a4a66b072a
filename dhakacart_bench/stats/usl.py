"""Gunther's Universal Scalability Law, fitted to (users, throughput) levels, and the
throughput knee: where adding users stops adding throughput.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KNEE_FRACTION = 0.15
MIN_USL_LEVELS = 4
MIN_USL_R2 = 0.9
BOOTSTRAP = 200
KAPPA_EPS = 1e-9


@dataclass(frozen=True)
class UslFit:
    """The USL fit X(N) = lam*N / (1 + sigma*(N-1) + kappa*N*(N-1)), or why there is none."""

    ok: bool
    reason: str
    lam: float | None = None
    sigma: float | None = None
    kappa: float | None = None
    r2: float | None = None
    n_star: float | None = None
    ceiling_rps: float | None = None
    n_star_interval: tuple[float, float] | None = None
    ceiling_interval: tuple[float, float] | None = None
    extrapolated: bool = False

    def predict(self, n: float) -> float:
        """Modelled throughput at ``n`` users (requires a fit)."""
        assert self.lam is not None and self.sigma is not None and self.kappa is not None
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))


def _lstsq_usl(n: Any, x: Any) -> tuple[float, float, float] | None:
    """Weighted linearised least squares with sigma, kappa >= 0 (best feasible active set)."""
    import numpy as np

    y = n / x
    a_full = np.column_stack([np.ones_like(n), n - 1, n * (n - 1)])
    w = x * x / n  # first-order weights: residuals in N/X scaled back to X units
    best, best_sse = None, math.inf
    for cols in ((0, 1, 2), (0, 2), (0, 1), (0,)):
        a = a_full[:, cols]
        coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
        if coef[0] <= 0 or any(c < 0 for c in coef[1:]):
            continue
        full = np.zeros(3)
        full[list(cols)] = coef
        sse = float(((x - n / (a_full @ full)) ** 2).sum())
        if sse < best_sse:
            best, best_sse = full, sse
    if best is None:
        return None
    lam = 1 / best[0]
    return float(lam), float(best[1] * lam), float(best[2] * lam)


def fit_usl(
    users: Sequence[float], rps: Sequence[float], *, bootstrap: int = BOOTSTRAP, seed: int = 0
) -> UslFit:
    """Fit Gunther's USL to (users, throughput) levels; estimate N* and the ceiling.

    Returns ``ok=False`` with the reason when fewer than 4 levels, when κ ≈ 0 (the
    run never saturated, so the data bound no ceiling), or when R² < 0.9. The 90%
    intervals come from ``bootstrap`` resamples of the levels.
    """
    import numpy as np

    n = np.asarray(users, dtype=float)
    x = np.asarray(rps, dtype=float)
    keep = (n > 0) & (x > 0)
    n, x = n[keep], x[keep]
    if len(np.unique(n)) < MIN_USL_LEVELS:
        return UslFit(
            False,
            f"needs at least {MIN_USL_LEVELS} load levels with traffic; "
            f"this run has {len(np.unique(n))}",
        )
    params = _lstsq_usl(n, x)
    if params is None:
        return UslFit(False, "the throughput curve does not have the USL's shape")
    lam, sigma, kappa = params
    pred = lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    sst = float(((x - x.mean()) ** 2).sum())
    r2 = 1 - float(((x - pred) ** 2).sum()) / sst if sst > 0 else 0.0
    if r2 < MIN_USL_R2:
        why = f"the fit is poor (R² = {r2:.2f} < {MIN_USL_R2})"
        return UslFit(False, why, lam=lam, sigma=sigma, kappa=kappa, r2=r2)
    if kappa < KAPPA_EPS or sigma >= 1:
        why = (
            "throughput never bent downward in the tested range (κ ≈ 0): "
            "the ceiling is higher than this data can bound"
        )
        return UslFit(False, why, lam=lam, sigma=sigma, kappa=kappa, r2=r2)
    n_star = math.sqrt((1 - sigma) / kappa)
    ceiling = lam * n_star / (1 + sigma * (n_star - 1) + kappa * n_star * (n_star - 1))
    rng = np.random.default_rng(seed)
    stars, ceilings = [], []
    for _ in range(bootstrap):
        idx = rng.integers(0, len(n), len(n))
        if len(np.unique(n[idx])) < 3:
            continue
        p = _lstsq_usl(n[idx], x[idx])
        if p is None or p[2] < KAPPA_EPS or p[1] >= 1:
            continue
        s = math.sqrt((1 - p[1]) / p[2])
        stars.append(s)
        ceilings.append(p[0] * s / (1 + p[1] * (s - 1) + p[2] * s * (s - 1)))
    n_int = c_int = None
    if len(stars) >= bootstrap // 2:
        n_int = (float(np.percentile(stars, 5)), float(np.percentile(stars, 95)))
        c_int = (float(np.percentile(ceilings, 5)), float(np.percentile(ceilings, 95)))
    extrapolated = n_star > 1.5 * float(n.max())
    reason = "fitted" + (
        " (N* lies beyond the tested range: an extrapolation)" if extrapolated else ""
    )
    return UslFit(
        True,
        reason,
        n_star=n_star,
        ceiling_rps=ceiling,
        n_star_interval=n_int,
        ceiling_interval=c_int,
        extrapolated=extrapolated,
        lam=lam,
        sigma=sigma,
        kappa=kappa,
        r2=r2,
    )


def find_knee(
    users: Sequence[float], rps: Sequence[float], fraction: float = KNEE_FRACTION
) -> int | None:
    """Index of the last level before throughput stops growing, or None if it never does.

    The initial slope is the first level's throughput per user; throughput "stops
    growing" at the first step whose marginal gain per added user is below
    ``fraction`` of it *and* stays so: the best throughput of every later level,
    per user added since, is below that too, over at least two higher levels (one
    noisy flat step, or a short last level, is not a knee).
    """
    if len(users) < 2 or users[0] <= 0 or rps[0] <= 0:
        return None
    slope0 = rps[0] / users[0]
    for i in range(1, len(users) - 1):
        added = users[i] - users[i - 1]
        if added <= 0 or (rps[i] - rps[i - 1]) / added >= fraction * slope0:
            continue
        later = all(
            (rps[j] - rps[i - 1]) / (users[j] - users[i - 1]) < fraction * slope0
            for j in range(i, len(users))
            if users[j] > users[i - 1]
        )
        if later:
            return i - 1
    return None
