"""Stalls in a per-second completion series: where a closed loop stopped measuring.

In a closed model each user waits for its answer before it sends again, so while the
target stalls the users stop sending and the stall is measured once per user — by the
few requests that were in flight — instead of once per shopper who would have arrived
meanwhile. That is coordinated omission: the run's percentiles understate what arriving
shoppers see. Its footprint in the per-second series is plain: seconds in which (almost)
nothing completed although the users were there.

:func:`find_stalls` finds them. For every second it compares the completions with what
the neighbouring seconds make expected at that user count: the median completions *per
user* of the seconds within ``window`` on either side (in two passes, the second leaving
out the seconds the first found stalled, so that a long stall does not hide itself).
A second is stalled when at least ``min_expected`` completions were expected and at most
``collapse`` of them came. An episode is a run of stalled seconds, extended by at most one
partial second on either side (below ``partial`` of the expected); its length is the
time lost, ``Σ (1 - completions / expected)`` over its seconds — at most the longest
request that completed in it or the second after (the target's stall held that one
throughout; more lost time is not the target's). The first and the last
second with completions are never judged (a run starts and stops mid-second).

:func:`arrival_percentile_ms` turns the episodes into what arrivals at a steady rate
would have seen: a shopper arriving during a stall of length ``d`` at a uniform moment
waits out the rest of it, so ``P(wait > x) = Σ max(0, d_i - x) / T`` over the judged
time ``T``. For a target that stalls 2 s every 7 s this gives p99 = 2 - 0.01 * 7 = 1.93 s
plus the normal response time (docs/reports.md, "Coordinated omission").

Pure maths on plain sequences; no pandas.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: A second is stalled when at most this share of its expected completions came.
DEFAULT_COLLAPSE = 0.2
#: A stall's partial first or last second: below this share of its expected completions.
DEFAULT_PARTIAL = 0.8
#: Judge only seconds expected to hold at least this many completions (Poisson P(≤ 4 | 20)
#: ≈ 2·10⁻⁵: a quiet second of a busy run is not noise).
DEFAULT_MIN_EXPECTED = 20.0
#: Seconds on either side that set a second's expected completions.
DEFAULT_WINDOW_S = 30


@dataclass(frozen=True)
class Stall:
    """One episode: seconds ``start_s`` to ``end_s`` (inclusive, run seconds)."""

    start_s: int
    end_s: int
    #: the time lost: Σ (1 - completions / expected) over the episode's seconds, at most
    #: ``longest_ms``
    lost_s: float
    #: users running in the episode (the most in any of its seconds)
    users: int
    #: the longest request that completed in the episode or the second after it (ms)
    longest_ms: float | None = None


@dataclass(frozen=True)
class StallReport:
    """Every stall of a run and the time that was judged."""

    stalls: tuple[Stall, ...]
    #: seconds that could be judged (enough completions expected)
    judged_s: int

    @property
    def lost_s(self) -> float:
        """Time lost to stalls, in seconds."""
        return sum(s.lost_s for s in self.stalls)

    @property
    def fraction(self) -> float:
        """Share of the judged time lost to stalls."""
        return self.lost_s / self.judged_s if self.judged_s else 0.0

    @property
    def longest_ms(self) -> float | None:
        """The longest request measured across any stall (ms)."""
        values = [s.longest_ms for s in self.stalls if s.longest_ms is not None]
        return max(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _expected(
    rates: Sequence[float | None], users: Sequence[int], window: int, skip: Sequence[bool]
) -> list[float | None]:
    """Expected completions of each second: the neighbours' median rate per user * users."""
    out: list[float | None] = []
    for i in range(len(rates)):
        lo, hi = max(0, i - window), min(len(rates), i + window + 1)
        near = [r for j in range(lo, hi) if j != i and not skip[j] and (r := rates[j]) is not None]
        median = _median(near)
        out.append(None if median is None or users[i] <= 0 else median * users[i])
    return out


def find_stalls(
    completions: Sequence[int],
    users: Sequence[int],
    longest_ms: Sequence[float | None] | None = None,
    *,
    collapse: float = DEFAULT_COLLAPSE,
    partial: float = DEFAULT_PARTIAL,
    min_expected: float = DEFAULT_MIN_EXPECTED,
    window: int = DEFAULT_WINDOW_S,
) -> StallReport:
    """The stalls of a per-second series (index = run second); see the module docstring.

    ``completions[i]`` is the requests that completed in second ``i``, ``users[i]`` the
    users running then, ``longest_ms[i]`` (optional) the longest of those requests.
    """
    n = len(completions)
    if len(users) != n or (longest_ms is not None and len(longest_ms) != n):
        raise ValueError("completions, users and longest_ms must have one value per second")
    busy = [i for i in range(n) if completions[i] > 0]
    judged = [False] * n
    if len(busy) >= 3:
        for i in range(busy[0] + 1, busy[-1]):
            judged[i] = users[i] > 0
    rates: list[float | None] = [completions[i] / users[i] if judged[i] else None for i in range(n)]
    stalled = [False] * n
    expected: list[float | None] = [None] * n
    for _ in range(2):  # the second pass leaves the first pass's stalls out of the medians
        expected = _expected(rates, users, window, stalled)
        stalled = [
            judged[i]
            and (e := expected[i]) is not None
            and e >= min_expected
            and completions[i] <= collapse * e
            for i in range(n)
        ]
    judged_s = sum(
        1 for i in range(n) if judged[i] and (e := expected[i]) is not None and e >= min_expected
    )
    stalls = []
    i = 0
    while i < n:
        if not stalled[i]:
            i += 1
            continue
        start = i
        while i + 1 < n and stalled[i + 1]:
            i += 1
        end = i
        first, last = start, end
        if _partial(first - 1, completions, expected, judged, partial):
            first -= 1
        if _partial(last + 1, completions, expected, judged, partial):
            last += 1
        lost = 0.0
        for s in range(first, last + 1):
            e = expected[s]
            if e:
                lost += min(1.0, max(0.0, 1.0 - completions[s] / e))
        longest = None
        if longest_ms is not None:
            seen = [
                v
                for s in range(first, min(n, last + 2))
                if (v := longest_ms[s]) is not None and not math.isnan(v)
            ]
            longest = max(seen) if seen else None
            if longest is not None:
                # a stall of the target holds the request in flight at its start for all
                # of it: time lost beyond the longest request is not the target's (the
                # generator paused, or second bins smeared a stall over three)
                lost = min(lost, longest / 1000)
        stalls.append(
            Stall(
                start_s=first,
                end_s=last,
                lost_s=round(lost, 3),
                users=max(users[first : last + 1]),
                longest_ms=longest,
            )
        )
        i = last + 1
    return StallReport(stalls=tuple(stalls), judged_s=judged_s)


def _partial(
    i: int,
    completions: Sequence[int],
    expected: Sequence[float | None],
    judged: Sequence[bool],
    partial: float,
) -> bool:
    if i < 0 or i >= len(completions) or not judged[i]:
        return False
    e = expected[i]
    return e is not None and completions[i] < partial * e


def arrival_percentile_ms(
    report: StallReport, percentile: float, *, base_ms: float = 0.0
) -> float | None:
    """The ``percentile`` of latency that arrivals at a steady rate would have seen, from
    the stalls alone: the wait ``x`` with ``Σ max(0, d_i - x) = (1 - p) · T``, plus
    ``base_ms`` (the normal response time). None when the stalls hold less than
    ``1 - p`` of the judged time (that percentile falls outside them)."""
    if not 0 < percentile < 100:
        raise ValueError(f"percentile must be between 0 and 100, got {percentile!r}")
    tail = (1 - percentile / 100) * report.judged_s
    lengths = sorted((s.lost_s for s in report.stalls), reverse=True)
    if not report.judged_s or sum(lengths) <= tail:
        return None
    # f(x) = Σ max(0, d_i - x) is piecewise linear and falls as x grows: walk down the
    # sorted lengths until the k longest stalls alone explain the tail
    for k in range(1, len(lengths) + 1):
        x = (sum(lengths[:k]) - tail) / k
        floor = lengths[k] if k < len(lengths) else 0.0
        if x >= floor:
            return x * 1000 + base_ms
    return base_ms  # unreachable: k = len(lengths) always satisfies x >= 0
