"""Availability maths: probe checks per path, the error budget of an availability
objective, and the longest gap with no successful check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from dhakacart_bench.humanize import fmt_availability, fmt_duration_words


@dataclass(frozen=True)
class Check:
    """One probe check: sent ``t_s`` seconds after the run started."""

    t_s: float
    path: str
    ok: bool
    status: int | None
    kind: str  # ok | refused | reset | timeout | 5xx | 4xx | error
    latency_ms: float


ALL = "*"
MONTH_S = 30 * 86400


@dataclass(frozen=True)
class PathAvailability:
    """Probe checks of one path (or ``"*"``: all paths together)."""

    path: str
    checks: int
    failures: int

    @property
    def pct(self) -> float | None:
        """Successful checks / all checks, as a percentage; None without checks."""
        if not self.checks:
            return None
        return (self.checks - self.failures) / self.checks * 100


def availability(checks: Iterable[Check]) -> dict[str, PathAvailability]:
    """Availability per probe path and overall (``"*"``), in first-seen path order."""
    counts: dict[str, list[int]] = {}
    for c in checks:
        for key in (ALL, c.path):
            row = counts.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += 0 if c.ok else 1
    counts.setdefault(ALL, [0, 0])
    return {key: PathAvailability(key, n, bad) for key, (n, bad) in counts.items()}


@dataclass(frozen=True)
class ErrorBudget:
    """An availability objective against a measured availability.

    ``allowed`` is the failure fraction the SLO allows (99.9% → 0.001), ``failed`` the
    measured failure fraction, ``consumed_pct`` how much of the budget the run used
    (100 = all of it), ``downtime_month_s`` the downtime per 30-day month the measured
    rate implies and ``allowed_downtime_month_s`` what the SLO allows per month.
    """

    slo_pct: float
    measured_pct: float
    allowed: float
    failed: float
    consumed_pct: float
    downtime_month_s: float
    allowed_downtime_month_s: float

    @property
    def ok(self) -> bool:
        return self.measured_pct >= self.slo_pct

    @property
    def words(self) -> str:
        """``99.95% available; at this rate a month has 22 min of downtime; budget 99.9% → OK``."""
        verdict = "OK" if self.ok else "MISSED"
        used = (
            "no budget left to use"
            if math.isinf(self.consumed_pct)
            else f"{self.consumed_pct:.0f}% of the error budget used"
        )
        return (
            f"{fmt_availability(self.measured_pct)} available; at this rate a month has "
            f"{fmt_duration_words(self.downtime_month_s)} of downtime "
            f"(allowed: {fmt_duration_words(self.allowed_downtime_month_s)}); "
            f"budget {self.slo_pct:g}% → {verdict} ({used})"
        )


def error_budget(measured_pct: float, slo_pct: float) -> ErrorBudget:
    """The error budget of an availability objective, given the measured availability."""
    allowed = (100 - slo_pct) / 100
    failed = max(0.0, (100 - measured_pct) / 100)
    no_budget = 0.0 if failed == 0 else math.inf
    consumed = failed / allowed * 100 if allowed > 0 else no_budget
    return ErrorBudget(
        slo_pct=slo_pct,
        measured_pct=measured_pct,
        allowed=allowed,
        failed=failed,
        consumed_pct=consumed,
        downtime_month_s=failed * MONTH_S,
        allowed_downtime_month_s=allowed * MONTH_S,
    )


@dataclass(frozen=True)
class Gap:
    """The longest stretch of one path with no successful check.

    From the first failed check after a success (or the first check) to the next
    successful check; an outage still going at the end lasts until the last check
    plus one interval. Resolution: one probe interval.
    """

    path: str
    length_s: float
    start_s: float | None
    end_s: float | None
    recovered: bool


def longest_gap(
    checks: Iterable[Check],
    *,
    interval_s: float,
    start_s: float | None = None,
    end_s: float | None = None,
) -> Gap:
    """The longest gap over all paths (checks sent in ``[start_s, end_s]`` when given)."""
    by_path: dict[str, list[Check]] = {}
    for c in checks:
        if (start_s is None or c.t_s >= start_s) and (end_s is None or c.t_s <= end_s):
            by_path.setdefault(c.path, []).append(c)
    best = Gap(ALL, 0.0, None, None, True)
    for path, items in by_path.items():
        items.sort(key=lambda c: c.t_s)
        opened: float | None = None
        for c in items:
            if not c.ok and opened is None:
                opened = c.t_s
            elif c.ok and opened is not None:
                if c.t_s - opened > best.length_s:
                    best = Gap(path, c.t_s - opened, opened, c.t_s, True)
                opened = None
        if opened is not None:
            until = items[-1].t_s + interval_s
            if until - opened > best.length_s:
                best = Gap(path, until - opened, opened, until, False)
    return best
