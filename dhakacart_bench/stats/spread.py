"""The spread between two identical instances: what a paired interval does not see.

The paired bootstrap (:mod:`dhakacart_bench.stats.paired`) resamples the seconds of one
run, so its standard error is the noise *within* the run. Two identical instances of a
service can also differ by a steady amount for a whole run — one process's memory
layout, where the scheduler keeps it, which CPU its cache lives on — and that difference
is the same in every second, so no resampling of seconds can see it. Measured on a
2-core runner with two bundled stores (``docs/benchmarks-gate.md``): A/A ratios varied
by 3.4 % (sd of the log ratio) where their within-run standard errors said 1.7 %.

Only A/A runs measure it: two identical arms, whose true ratio is 1. Over ``n`` of them
with log ratios ``x_i`` and within-run standard errors ``se_i``::

    spread² = max(0, mean(x_i²) - mean(se_i²))

(the mean square about 0, not about the runs' mean: a steady lean of one arm — the one
started second, say — is part of what a candidate would be judged with). The upper
bound treats ``n·mean(x²)/E[x²]`` as chi-square with ``n`` degrees of freedom
(Wilson-Hilferty's quantile), so a few runs give an honest, wide bound. The gate adds
the spread to every A/B interval in quadrature: ``se² = se_within² + spread²``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

#: One-sided coverage of :attr:`InstanceSpread.upper`.
UPPER_COVERAGE = 0.90
#: Fewer A/A runs than this estimate nothing worth using.
MIN_RUNS = 3


@dataclass(frozen=True)
class InstanceSpread:
    """The between-instance spread of ``log(p95 ratio)`` from ``runs`` A/A runs."""

    sd: float  # the estimate (log scale; 0.03 is ~3 %)
    upper: float  # its one-sided UPPER_COVERAGE upper bound
    runs: int
    rms_log_ratio: float  # sqrt(mean(x²)): how far A/A ratios moved in all
    rms_within_se: float  # sqrt(mean(se²)): how far their own intervals said they would


def chi2_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile of chi-square with ``dof`` degrees of freedom (Wilson-Hilferty:
    within 1.5 % of the exact value at 3 degrees of freedom, 0.1 % from 10)."""
    z = NormalDist().inv_cdf(p)
    k = float(dof)
    return k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3


def instance_spread(log_ratios: Sequence[float], within_se: Sequence[float]) -> InstanceSpread:
    """The spread between identical instances (see the module docstring).

    Raises ValueError for fewer than :data:`MIN_RUNS` runs, unequal lengths, or a
    standard error that is not finite and positive."""
    n = len(log_ratios)
    if n != len(within_se):
        raise ValueError(f"{n} log ratios but {len(within_se)} standard errors")
    if n < MIN_RUNS:
        raise ValueError(f"{n} A/A run(s): the spread needs at least {MIN_RUNS}")
    if not all(math.isfinite(s) and s > 0 for s in within_se):
        raise ValueError("every run needs a finite, positive within-run standard error")
    if not all(math.isfinite(x) for x in log_ratios):
        raise ValueError("every run needs a finite log ratio")
    mean_sq = sum(x * x for x in log_ratios) / n
    within_sq = sum(s * s for s in within_se) / n
    upper_sq = n * mean_sq / chi2_quantile(1 - UPPER_COVERAGE, n)
    return InstanceSpread(
        sd=math.sqrt(max(0.0, mean_sq - within_sq)),
        upper=math.sqrt(max(0.0, upper_sq - within_sq)),
        runs=n,
        rms_log_ratio=math.sqrt(mean_sq),
        rms_within_se=math.sqrt(within_sq),
    )


def with_spread(se_within: float, spread: float) -> float:
    """The standard error of an A/B log ratio with the instance spread added."""
    return math.hypot(se_within, spread) if math.isfinite(se_within) else math.inf
