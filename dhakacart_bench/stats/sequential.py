"""Looking at an A/B comparison repeatedly without inflating false alarms.

A sequential gate looks every ``every_s`` seconds, from ``min_s`` to ``max_s``, and stops
at the first look whose interval lies wholly on one side of the margin. Looking K times
at a 95 % interval would raise the false-alarm rate far above 5 %; this plan splits the
error budget instead (**Bonferroni alpha-spending**): with K planned looks and R rules
judged at each, every interval is built at two-sided level ``1 - alpha / (K·R)``. By the
union bound the chance that *any* interval at *any* look misses its true value is at most
``alpha`` — whatever the dependence between looks — so the chance of a false FAIL (or a
false PASS) over the whole run is at most ``alpha / 2`` each. It is conservative: early
looks get as much of the budget as late ones (an O'Brien-Fleming schedule would spend less
early), which costs a little time on borderline cases and nothing in validity.

Pure functions of plain numbers: no clocks, no windows.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from statistics import NormalDist

PASS_LOOK, FAIL_LOOK = "PASS", "FAIL"


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

    def z(self, rules: int) -> float:
        """The normal quantile of one look's two-sided interval for ``rules`` rules."""
        per_test = self.alpha / (self.looks * max(1, rules))
        return NormalDist().inv_cdf(1 - per_test / 2)

    def per_look_confidence(self, rules: int) -> float:
        return 1 - self.alpha / (self.looks * max(1, rules))


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
    the extra looks); None when the estimate sits on the margin.
    """

    fail_above: float
    pass_below: float
    seconds_needed: float | None


def resolution(
    ratio: float,
    se_log: float,
    *,
    allowed: float,
    judged_s: float,
    plan: LookPlan,
    rules: int,
) -> Resolution:
    """How far an undecided look's ratio is from a decision (see :class:`Resolution`)."""
    z = plan.z(rules)
    fail_above = allowed * math.exp(z * se_log)
    pass_below = allowed * math.exp(-z * se_log)
    distance = abs(math.log(ratio) - math.log(allowed))
    if distance < 1e-9 or se_log <= 0 or judged_s <= 0:
        return Resolution(fail_above, pass_below, None)
    needed = plan.max_s
    for _ in range(8):  # z depends on the number of looks, which depends on the length
        longer = dataclasses.replace(plan, max_s=max(needed, plan.max_s))
        judged = judged_s * (longer.z(rules) * se_log / distance) ** 2
        new = plan.warmup_s + judged
        if abs(new - needed) < 0.5:
            needed = new
            break
        needed = new
    return Resolution(fail_above, pass_below, max(needed, plan.max_s))
