"""Looking at an A/B comparison repeatedly without inflating false alarms.

A sequential gate looks every ``every_s`` seconds, from ``min_s`` to ``max_s``, and stops
at the first look whose interval lies wholly on one side of the margin. Looking K times
at a 95 % interval would raise the false-alarm rate far above 5 %. The error budget
``alpha`` is split first over the R rules judged at each look (``alpha / R`` each, by the
union bound), then over the looks by a **group-sequential alpha-spending** schedule
(Lan & DeMets 1983): a spending function ``f(t)`` says how much of a rule's budget may be
spent by information fraction ``t`` (judged seconds so far / judged seconds planned),
and look k's boundary ``c_k`` is the one at which

    P(|Z_j| < c_j for every earlier look j, |Z_k| >= c_k) = f(t_k) - f(t_(k-1))

for a statistic that moves like Brownian motion over the looks (each look sees the
earlier looks' data and more: ``corr(Z_i, Z_j) = sqrt(t_i / t_j)``). The probabilities
are computed exactly by recursive numerical integration over the looks (Armitage,
McPherson & Rowe 1969; Jennison & Turnbull, *Group Sequential Methods*, ch. 19), so the
budget is spent in full — Bonferroni over looks, which ignores that correlation, wastes
much of it. Each look's interval ``log(ratio) ± c_k·se`` is then a *repeated confidence
interval*: all of a rule's intervals hold together with probability ``1 - alpha / R``
whatever the stopping, so a false FAIL has at most ``alpha / 2`` chance per run.

The spending function is Hwang, Shih & DeCani's, ``f(t) = alpha·(1 - e^(-g·t)) /
(1 - e^(-g))``, with ``g = -2`` (:data:`DEFAULT_HSD_GAMMA`): the first looks are nearly
as wide as Bonferroni's (a large regression still stops the run at once), the last ones
much narrower (at a 60 s budget and the defaults, 2.46 instead of 3.02 standard errors
for one endpoint), which is where a regression near the margin is decided. A plan
without a gamma (A/B folders written before) keeps the Bonferroni split over looks,
``alpha / (K·R)`` per interval, so old folders are re-judged as they were decided.

Pure functions of plain numbers: no clocks, no windows.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

PASS_LOOK, FAIL_LOOK = "PASS", "FAIL"
#: Hwang-Shih-DeCani spending parameter of new A/B runs (see the module docstring).
DEFAULT_HSD_GAMMA = -2.0
#: Grid points of the recursive integration over each look's continuation region (the
#: boundaries to 4 decimals), and the coarser grid of projections (to 3 decimals).
_GRID = 201
_PROJECTION_GRID = 101


@dataclass(frozen=True)
class LookPlan:
    """When the gate looks and how wide each look's interval is."""

    min_s: float
    every_s: float
    max_s: float
    min_requests: int
    alpha: float
    #: seconds at the start that no look judges (users ramp, each arm's target warms up
    #: on its own schedule: a difference there is not the builds')
    warmup_s: float = 0.0
    #: Hwang-Shih-DeCani spending over the looks; None: Bonferroni over the looks
    hsd_gamma: float | None = None

    def __post_init__(self) -> None:
        if self.every_s <= 0 or self.min_s < 0 or not 0 < self.alpha < 1:
            raise ValueError("a look plan needs every_s > 0, min_s >= 0 and 0 < alpha < 1")
        if self.warmup_s < 0 or (self.warmup_s and self.warmup_s >= self.max_s):
            raise ValueError("a look plan's warm-up must be at least 0 and end before max_s")

    @property
    def looks(self) -> int:
        """Planned looks: at min_s, every every_s after it, and at max_s."""
        if self.max_s <= self.min_s:
            return 1
        return 1 + math.ceil((self.max_s - self.min_s) / self.every_s - 1e-9)

    def look_times(self) -> list[float]:
        """Seconds into the run at which the looks fall (the last at ``max_s``)."""
        times = [self.min_s + i * self.every_s for i in range(self.looks - 1)]
        return [*times, max(self.max_s, self.min_s)]

    def fractions(self) -> tuple[float, ...]:
        """Information fraction of each planned look: judged seconds so far over the
        judged seconds planned (the warm-up is not judged)."""
        span = max(self.max_s, self.min_s) - self.warmup_s
        return tuple(
            min(1.0, max(1e-6, (t - self.warmup_s) / span)) if span > 0 else 1.0
            for t in self.look_times()
        )

    def look_index(self, t_s: float | None) -> int:
        """The planned look a look at ``t_s`` seconds is (the last planned look at or
        before it; the last look when ``t_s`` is None or beyond the budget)."""
        times = self.look_times()
        if t_s is None:
            return len(times) - 1
        return max(0, sum(1 for t in times if t <= t_s + 1e-9) - 1)

    def z(self, rules: int, t_s: float | None = None, *, points: int = 0) -> float:
        """How many standard errors wide (each side) the interval of one of ``rules``
        rules is at the look at ``t_s`` seconds (the last look when None); ``points``:
        a coarser integration grid, for projections only."""
        per_rule = self.alpha / max(1, rules)
        if self.hsd_gamma is None:
            return NormalDist().inv_cdf(1 - per_rule / self.looks / 2)
        bounds = spending_bounds(self.fractions(), per_rule, self.hsd_gamma, points or _GRID)
        return bounds[self.look_index(t_s)]

    def confidence(self, rules: int, t_s: float | None = None) -> float:
        """Two-sided coverage of one interval at that look."""
        return 2 * NormalDist().cdf(self.z(rules, t_s)) - 1

    @property
    def method(self) -> str:
        if self.hsd_gamma is None:
            return "Bonferroni over looks and rules"
        return (
            f"group-sequential alpha-spending over looks (Hwang-Shih-DeCani, gamma"
            f" {self.hsd_gamma:g}), Bonferroni over rules"
        )


def hsd_spent(t: float, alpha: float, gamma: float) -> float:
    """Hwang-Shih-DeCani spending: the share of ``alpha`` spent by information ``t``."""
    if t >= 1:
        return alpha
    if gamma == 0:
        return alpha * t
    return alpha * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))


@functools.lru_cache(maxsize=256)
def spending_bounds(
    fractions: tuple[float, ...], alpha: float, gamma: float, points: int = _GRID
) -> tuple[float, ...]:
    """Two-sided boundaries ``c_k`` (in standard errors) at increasing information
    ``fractions`` that spend ``alpha`` as Hwang-Shih-DeCani's ``gamma`` says.

    Recursive numerical integration on the score scale ``S = Z·sqrt(t)`` (Brownian
    motion): the sub-density of the paths that have not crossed yet is carried from look
    to look on a grid over the continuation region; at each look its convolution with
    the increment's normal density is integrated (trapezoid) to find the boundary that
    lets exactly the look's share of alpha cross.
    """
    import numpy as np

    def _normal_pdf(x: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def _trapezoid(xs: np.ndarray) -> np.ndarray:
        weights = np.full(len(xs), xs[1] - xs[0])
        weights[0] = weights[-1] = weights[0] / 2
        return weights

    bounds: list[float] = []
    spent_before, t_before = 0.0, 0.0
    grid = mass = np.zeros(0)  # the continuation grid and its density x quadrature weight
    for t in fractions:
        step = hsd_spent(t, alpha, gamma) - spent_before
        if step <= 0 or t <= t_before:  # nothing to spend here: an interval never decides
            bounds.append(math.inf)
            continue
        if not grid.size:  # the first look that spends: the normal tail, exactly
            c = NormalDist().inv_cdf(1 - step / 2)
            b = c * math.sqrt(t)
            grid = np.linspace(-b, b, points)
            density = _normal_pdf(grid / math.sqrt(t)) / math.sqrt(t)
        else:
            sd = math.sqrt(t - t_before)
            reach = float(grid[-1]) + 9 * sd
            wide = np.linspace(-reach, reach, 4 * points + 1)
            on_wide = mass @ _normal_pdf((wide[None, :] - grid[:, None]) / sd) / sd
            # inner[i]: the mass inside [-wide[half + i], wide[half + i]]
            half = len(wide) // 2
            cumulative = np.concatenate(
                [[0.0], np.cumsum((on_wide[1:] + on_wide[:-1]) / 2 * np.diff(wide))]
            )
            inner = cumulative[half:] - cumulative[half::-1]
            crossing = float(mass.sum()) - inner  # decreasing in b from the centre outwards
            # the boundary where the crossing probability falls to this look's share
            b = float(np.interp(-step, -crossing, wide[half:]))
            c = b / math.sqrt(t)
            grid = np.linspace(-b, b, points)
            density = np.interp(grid, wide, on_wide)
        bounds.append(c)
        mass = density * _trapezoid(grid)
        spent_before, t_before = hsd_spent(t, alpha, gamma), t
    return tuple(bounds)


def classify(low: float, high: float, allowed: float) -> str | None:
    """FAIL when ``[low, high]`` lies wholly above ``allowed``, PASS when wholly
    below (or at) it, None while it straddles the margin."""
    if low > allowed:
        return FAIL_LOOK
    if high <= allowed:
        return PASS_LOOK
    return None


@dataclass(frozen=True)
class Resolution:
    """What an undecided ratio's noise could tell apart, and what it would take.

    ``fail_above`` / ``pass_below`` are the ratios beyond which this look's interval
    (``ratio · exp(±z·se)``) would have lain wholly above / below the margin: the
    smallest regression this much data catches, and the largest change it clears.
    ``seconds_needed`` is the run length (warm-up included) at which the same point
    estimate would be told from the margin, if the standard error keeps shrinking as
    ``1 / sqrt(judged seconds)`` and the plan keeps its look spacing (so ``z`` grows with
    the extra looks); None when that is more than ``longest_s``
    (:data:`PROJECTION_LIMIT` budgets), where the projection would mean nothing —
    the estimate sits on the margin, or as good as. A between-instance ``spread``
    (:mod:`dhakacart_bench.stats.spread`) does not shrink with time: when ``z·spread``
    alone reaches from the estimate to the margin, no run length decides
    (``spread_bound``).
    """

    fail_above: float
    pass_below: float
    seconds_needed: float | None
    longest_s: float = 0.0
    spread_bound: bool = False


#: A projection longer than this many budgets is reported as "more than" that: no plan
#: of that length is computed (its looks would be many thousands for an estimate on the
#: margin), and no one would run it.
PROJECTION_LIMIT = 10


def resolution(
    ratio: float,
    se_within: float,
    *,
    allowed: float,
    judged_s: float,
    plan: LookPlan,
    rules: int,
    spread: float = 0.0,
) -> Resolution:
    """How far an undecided look's ratio is from a decision (see :class:`Resolution`):
    ``se_within`` is the paired bootstrap's, ``spread`` the between-instance spread the
    interval adds to it."""
    z = plan.z(rules)  # the last look's
    se_log = math.hypot(se_within, spread)
    fail_above = allowed * math.exp(z * se_log)
    pass_below = allowed * math.exp(-z * se_log)
    distance = abs(math.log(ratio) - math.log(allowed))
    longest = PROJECTION_LIMIT * max(plan.max_s, plan.min_s)
    if se_within <= 0 or judged_s <= 0 or distance <= 0:
        return Resolution(fail_above, pass_below, None, longest)

    def seconds_at(last_z: float) -> float | None:
        # z·sqrt(se_within²·judged/t + spread²) = distance, solved for the judged t
        room = (distance / last_z) ** 2 - spread**2
        return None if room <= 0 else plan.warmup_s + judged_s * se_within**2 / room

    # with this plan's last z first (a longer plan's last look is never narrower), then
    # twice with the z of a plan that long: z moves slowly with the length (2.46 at 60 s,
    # 2.53 at 220 s), so the projection settles well within the 10 s it is rounded to
    needed = seconds_at(z)
    for _ in range(2):
        if needed is None or needed > longest:
            break
        longer = dataclasses.replace(plan, max_s=max(needed, plan.max_s))
        needed = seconds_at(longer.z(rules, points=_PROJECTION_GRID))
    if needed is None:
        return Resolution(fail_above, pass_below, None, longest, spread_bound=True)
    if needed > longest:
        return Resolution(fail_above, pass_below, None, longest)
    return Resolution(fail_above, pass_below, max(needed, plan.max_s), longest)
