"""The decisions of ``bench capacity``: which level to try next, how long to hold it and
how many users it needs — pure functions of the levels judged so far.

The search drives arrivals (open model) at a *rate* per second. It steps the rate up
geometrically (``start_rate``, x ``step_factor``, ...) until a level breaks, then
bisects the bracket between the last good and the first bad rate in log space until
``bad / good <= 1 + resolution``, then confirms both boundary levels by repeating them.
A rate is *good* only if every try of it held; one broken try makes it *bad*
(conservative: the sustainable load is one that held every time it was tried).

A try whose errors passed the scenario's error SLO (break kind ``errors``: the target
is failing requests, not only slowing down) ends the search: bisecting towards a target
that answers with errors would measure its error handling, not its capacity. The
bracket reached is the answer, said as such.

A try that broke only because its pool of users ran dry, while its latencies held, says
the pool was too small, not that the target was: it is retried with twice the pool
(up to ``max_pool``) and does not count against the rate.

The measuring stage (:mod:`dhakacart_bench.measure.capacity`) asks :func:`next_level`
after each level; the tests feed it injected level results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dhakacart_bench.runfolder.capacity import CapacityLevel

#: Little's law headroom: users = rate x time in system x this, plus a few.
POOL_HEADROOM = 3.0
POOL_EXTRA = 5
#: The time in system assumed before anything was measured (seconds).
DEFAULT_ITERATION_S = 0.1
#: When the first level breaks, step down this many times before giving up.
MAX_STEPS_DOWN = 2
#: A slow level is held longer to collect its requests, up to this many x level_min_s.
MAX_HOLD_FACTOR = 4.0


@dataclass(frozen=True)
class SearchPlan:
    """The search's settings (the settings table's ``bench capacity`` rows)."""

    start_rate: float = 20.0
    step_factor: float = 2.0
    resolution: float = 0.05
    level_min_s: float = 8.0
    level_min_requests: int = 200
    level_warmup_s: float = 4.0
    max_pool: int = 5000
    max_levels: int = 40
    confirm: bool = True


@dataclass(frozen=True)
class NextLevel:
    """Try ``rate`` arrivals/s next, with ``pool`` users, held ``hold_s`` after the warm-up."""

    rate: float
    purpose: str  # "step" | "step down" | "bisect" | "confirm" | "pool"
    pool: int
    hold_s: float


@dataclass(frozen=True)
class SearchEnd:
    """The search is over: ``status`` is found | not_held | generator | errors | levels."""

    status: str
    reason: str


def counts(level: CapacityLevel, plan: SearchPlan) -> bool:
    """Does this try count for its rate? Not when only a too-small pool broke it."""
    return not (level.break_kind == "pool" and level.pool < plan.max_pool)


def bracket(levels: Sequence[CapacityLevel], plan: SearchPlan) -> tuple[float | None, float | None]:
    """(highest good rate below the lowest bad one, lowest bad rate); None where absent."""
    tries: dict[float, list[bool]] = {}
    for lv in levels:
        if counts(lv, plan):
            tries.setdefault(lv.rate, []).append(lv.held)
    bad = [rate for rate, held in tries.items() if not all(held)]
    hi = min(bad) if bad else None
    good = [rate for rate, held in tries.items() if all(held) and (hi is None or rate < hi)]
    return (max(good) if good else None), hi


def tries_of(levels: Sequence[CapacityLevel], rate: float, plan: SearchPlan) -> int:
    return sum(1 for lv in levels if lv.rate == rate and counts(lv, plan))


def requests_per_arrival(levels: Sequence[CapacityLevel]) -> float | None:
    """Requests one arrival (one task of a user) makes, from the levels that held."""
    held = [lv for lv in levels if lv.held and lv.rate > 0 and lv.requests]
    arrivals = sum(lv.rate * lv.seconds for lv in held)
    if not held or arrivals <= 0:
        return None
    return sum(lv.requests for lv in held) / arrivals  # weighted by the arrivals judged


def pool_size(levels: Sequence[CapacityLevel], rate: float, plan: SearchPlan) -> int:
    """Users the level at ``rate`` needs, by Little's law (L = λ·W) from measured latency.

    W is the time an arrival spends in the system: its requests one after another at
    the p99 latency of the nearest level below that held (its tail, not its mean, so the
    pool covers slow moments), times :data:`POOL_HEADROOM`. A rate whose last try ran
    its pool dry gets twice that pool. Never above ``max_pool``.
    """
    same = [lv for lv in levels if lv.rate == rate]
    if same and same[-1].break_kind == "pool":
        return min(plan.max_pool, max(same[-1].pool * 2, POOL_EXTRA))
    below = [lv for lv in levels if lv.held and lv.rate <= rate and lv.p99_ms is not None]
    rpa = requests_per_arrival(levels) or 1.0
    if below:
        nearest = max(below, key=lambda lv: lv.rate)
        iteration_s = max(rpa * (nearest.p99_ms or 0.0) / 1000.0, 0.01)
    else:
        iteration_s = DEFAULT_ITERATION_S
    need = math.ceil(rate * iteration_s * POOL_HEADROOM) + POOL_EXTRA
    return max(1, min(plan.max_pool, need))


def hold_seconds(levels: Sequence[CapacityLevel], rate: float, plan: SearchPlan) -> float:
    """Seconds to hold a level after its warm-up: ``level_min_s``, longer when the rate
    is too low to complete ``level_min_requests`` in that time (up to 4x)."""
    rpa = requests_per_arrival(levels) or 1.0
    needed = plan.level_min_requests / max(rate * rpa, 1e-9)
    return round(min(max(plan.level_min_s, needed), plan.level_min_s * MAX_HOLD_FACTOR), 1)


def _level(
    levels: Sequence[CapacityLevel], rate: float, purpose: str, plan: SearchPlan
) -> NextLevel:
    rate = round(rate, 3)
    return NextLevel(
        rate=rate,
        purpose=purpose,
        pool=pool_size(levels, rate, plan),
        hold_s=hold_seconds(levels, rate, plan),
    )


def next_level(plan: SearchPlan, levels: Sequence[CapacityLevel]) -> NextLevel | SearchEnd:
    """The next level to try, or the end of the search (and why)."""
    if not levels:
        return _level(levels, plan.start_rate, "step", plan)
    last = levels[-1]
    if last.generator_saturated:
        return SearchEnd(
            "generator",
            f"the load generator was saturated at {last.rate:,.4g} arrivals/s, so latencies "
            "from there on are its own, not the target's: add --workers",
        )
    if last.break_kind == "errors":
        return SearchEnd(
            "errors",
            f"errors passed the scenario's error SLO at {last.rate:,.4g} arrivals/s "
            f"({'; '.join(last.broken) or 'errors'}): the target fails requests there, so "
            "the search stopped instead of bisecting",
        )
    if not counts(last, plan):
        return _level(levels, last.rate, "pool", plan)
    if len(levels) >= plan.max_levels:
        return SearchEnd("levels", f"stopped after {len(levels)} levels (the most it tries)")
    lo, hi = bracket(levels, plan)
    if hi is not None and lo is None:
        if hi > plan.start_rate / plan.step_factor**MAX_STEPS_DOWN * 1.001:
            return _level(levels, hi / plan.step_factor, "step down", plan)
        return SearchEnd("not_held", "not even the lowest level tried held its SLOs")
    assert lo is not None
    if hi is None:
        return _level(levels, lo * plan.step_factor, "step", plan)
    if hi / lo > 1 + plan.resolution:
        return _level(levels, math.sqrt(lo * hi), "bisect", plan)
    if plan.confirm:
        if tries_of(levels, lo, plan) < 2:
            return _level(levels, lo, "confirm", plan)
        if tries_of(levels, hi, plan) < 2:
            return _level(levels, hi, "confirm", plan)
    return SearchEnd("found", f"the limit lies between {lo:,.4g} and {hi:,.4g} arrivals/s")
