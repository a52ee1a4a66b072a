"""Recovery maths: what a deploy cost (failures by kind, the longest gap, p95 before and
during) and how long the service took to come back after a disruption.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dhakacart_bench.stats.availability import longest_gap
from dhakacart_bench.stats.hdr import hist_stats

if TYPE_CHECKING:
    from dhakacart_bench.stats.availability import Check


#: Failures this long after a deploy reports done still count to its window
#: (a request sent during the deploy may fail a moment later).
DEPLOY_GRACE_S = 2.0
#: Seconds before a deploy that "p95 before" is measured over.
BEFORE_S = 10
DEPLOY_ACTIONS = ("deploy", "command")


class ErrorSpan(Protocol):
    """One deduplicated failure with its count and when it was first and last seen
    (errors.json's records satisfy it)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def first_seen_s(self) -> float: ...
    @property
    def last_seen_s(self) -> float: ...


@dataclass(frozen=True)
class Second:
    """One second of the run (all endpoints): requests, failures, p95 (None if idle)."""

    second: int
    requests: int
    failures: int
    p95_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None


def merged_p95(
    windows: Iterable[tuple[int, Mapping[str, Any]]], first: int, last: int
) -> float | None:
    """p95 (ms) of every request completed in seconds ``first..last``, by merging the
    per-second HDR histograms of all endpoints (exact; never averaged)."""

    merged: Any = None
    for second, hists in windows:
        if not first <= second <= last:
            continue
        for hist in hists.values():
            if merged is None:
                from hdrh.histogram import HdrHistogram

                merged = HdrHistogram(
                    hist.lowest_trackable_value,
                    hist.highest_trackable_value,
                    hist.significant_figures,
                )
            merged.add(hist)
    if merged is None:
        return None
    return hist_stats(merged).p95_ms


@dataclass(frozen=True)
class DeployWindow:
    """What a deploy cost: failures by type, the longest gap, p95 before and during.

    Counted over ``start_s`` .. ``end_s + DEPLOY_GRACE_S``: probe checks exactly (by
    send time), Locust failures by whole seconds of the per-second series. errors.json
    knows only first/last seen, so an error kind is ``exact`` only when all its
    occurrences fall inside the window; otherwise its count is an upper bound.
    """

    index: int
    label: str
    action: str
    start_s: float
    end_s: float
    ok: bool | None
    locust_requests: int
    locust_failed: int
    locust_errors: tuple[dict[str, Any], ...]
    probe_checks: int
    probe_failed: int
    probe_by_kind: Mapping[str, int]
    longest_gap_s: float | None
    p95_before_ms: float | None
    p95_during_ms: float | None

    @property
    def failed_requests(self) -> int:
        """Locust's failed requests plus the probe's failed checks in the window."""
        return self.locust_failed + self.probe_failed


def deploy_window(
    event: Mapping[str, Any],
    *,
    seconds: Sequence[Second],
    checks: Sequence[Check] | None,
    errors: Sequence[ErrorSpan],
    windows: Iterable[tuple[int, Mapping[str, Any]]] | None,
    interval_s: float | None,
    grace_s: float = DEPLOY_GRACE_S,
    before_s: int = BEFORE_S,
) -> DeployWindow:
    """Measure one deploy event record (from the events sidecar) against the run."""
    start = float(event["window"]["start_s"])
    end = float(event["window"]["end_s"])
    last = end + grace_s
    first_sec, last_sec = math.floor(start), math.floor(last)
    inside = [s for s in seconds if first_sec <= s.second <= last_sec]
    kinds = []
    for err in errors:
        seen_first = float(err.first_seen_s or 0)
        seen_last = float(err.last_seen_s or seen_first)
        if seen_last < first_sec or seen_first >= last_sec + 1:
            continue
        exact = seen_first >= first_sec and seen_last < last_sec + 1
        kinds.append(
            {
                "endpoint": err.endpoint,
                "kind": err.kind,
                "status": err.status,
                "message": err.message,
                "count": err.count,
                "exact": exact,
            }
        )
    probe_in = [c for c in checks or () if start <= c.t_s <= last]
    by_kind: dict[str, int] = {}
    for c in probe_in:
        if not c.ok:
            by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
    gap = None
    if checks is not None and interval_s:
        gap = longest_gap(checks, interval_s=interval_s, start_s=start, end_s=last).length_s
    p95_before = p95_during = None
    if windows is not None:
        cached = list(windows)
        p95_before = merged_p95(cached, first_sec - before_s, first_sec - 1)
        p95_during = merged_p95(cached, first_sec, math.floor(end))
    return DeployWindow(
        index=int(event.get("index", 0)),
        label=str(event.get("label", "")),
        action=str(event.get("action", "")),
        start_s=start,
        end_s=end,
        ok=event.get("ok"),
        locust_requests=sum(s.requests for s in inside),
        locust_failed=sum(s.failures for s in inside),
        locust_errors=tuple(kinds),
        probe_checks=len(probe_in),
        probe_failed=sum(by_kind.values()),
        probe_by_kind=dict(sorted(by_kind.items())),
        longest_gap_s=gap,
        p95_before_ms=p95_before,
        p95_during_ms=p95_during,
    )


@dataclass(frozen=True)
class RecoveryBand:
    """When is the service "back"? ``consecutive_s`` seconds in a row, each with
    requests, an error rate at most the baseline's plus ``error_slack`` and a p95 at
    most ``p95_factor`` times the baseline's plus ``p95_slack_ms``. The baseline is the
    ``baseline_s`` seconds before the disruption began (at least ``min_baseline_s`` of
    them with requests): its error rate over all its requests, and the highest
    per-second p95 among them (per-second p95s of a few dozen requests are noisy; the
    baseline's own worst second is what "normal" already included)."""

    baseline_s: int = 10
    min_baseline_s: int = 3
    consecutive_s: int = 3
    error_slack: float = 0.02
    p95_factor: float = 1.5
    p95_slack_ms: float = 10.0


DEFAULT_BAND = RecoveryBand()


@dataclass(frozen=True)
class Recovery:
    """Seconds from ``from_s`` until the per-second series is back within the band."""

    label: str
    action: str
    disrupted_s: float
    from_s: float
    recovered: bool
    recovery_s: float | None  # None: no baseline to compare with
    baseline_error_rate: float | None = None
    baseline_p95_ms: float | None = None
    error_limit: float | None = None
    p95_limit_ms: float | None = None
    note: str = ""


def recovery_time(
    seconds: Sequence[Second],
    *,
    disrupted_s: float,
    from_s: float,
    end_s: float,
    band: RecoveryBand = DEFAULT_BAND,
    not_before_s: float | None = None,
    label: str = "",
    action: str = "",
) -> Recovery:
    """How long after ``from_s`` the series is back in the band of the pre-``disrupted_s``
    baseline (seconds before ``not_before_s`` — an earlier disruption — are left out of
    the baseline). Not back by ``end_s``: ``recovered=False`` and ``recovery_s`` is the
    time observed (a lower bound)."""
    by_second = {s.second: s for s in seconds}
    d0 = math.floor(disrupted_s)
    b0 = d0 - band.baseline_s
    if not_before_s is not None:
        b0 = max(b0, math.ceil(not_before_s))
    base = [
        by_second[k]
        for k in range(b0, d0)
        if k in by_second and by_second[k].requests and by_second[k].p95_ms is not None
    ]
    if len(base) < band.min_baseline_s:
        return Recovery(
            label,
            action,
            disrupted_s,
            from_s,
            False,
            None,
            note=f"no baseline: fewer than {band.min_baseline_s} busy seconds before the event",
        )
    base_err = sum(s.failures for s in base) / sum(s.requests for s in base)
    base_p95 = max(float(s.p95_ms or 0.0) for s in base)
    err_limit = base_err + band.error_slack
    p95_limit = base_p95 * band.p95_factor + band.p95_slack_ms

    def good(k: int) -> bool:
        s = by_second.get(k)
        if s is None or not s.requests or s.p95_ms is None:
            return False
        return s.failures / s.requests <= err_limit and s.p95_ms <= p95_limit

    last = math.floor(end_s)
    streak_start: int | None = None
    for k in range(math.floor(from_s), last + 1):
        if good(k):
            streak_start = k if streak_start is None else streak_start
            if k - streak_start + 1 >= band.consecutive_s:
                return Recovery(
                    label,
                    action,
                    disrupted_s,
                    from_s,
                    True,
                    max(0.0, streak_start - from_s),
                    base_err,
                    base_p95,
                    err_limit,
                    p95_limit,
                )
        else:
            streak_start = None
    return Recovery(
        label,
        action,
        disrupted_s,
        from_s,
        False,
        max(0.0, end_s - from_s),
        base_err,
        base_p95,
        err_limit,
        p95_limit,
        note="not back within the band by the end of the run",
    )


def recovery_points(
    events: Sequence[Mapping[str, Any]],
) -> list[tuple[Mapping[str, Any], float, float]]:
    """(event, disrupted_s, from_s) for each event that recovery is measured after.

    kill-worker: from the kill. faults with ``for``: from the clear, baseline before the
    faults. clear-faults: from the clear, baseline before the latest faults event. deploy
    and command: from the end of the deploy window, baseline before it. Events that did
    not run are skipped; so are faults left on.
    """
    out = []
    last_faults: float | None = None
    for ev in sorted(events, key=lambda e: float(e.get("started_s") or math.inf)):
        started = ev.get("started_s")
        if started is None:
            continue
        action = ev.get("action")
        if action == "kill-worker":
            out.append((ev, float(started), float(started)))
        elif action == "faults":
            last_faults = float(started)
            if ev.get("cleared_s") is not None:
                out.append((ev, float(started), float(ev["cleared_s"])))
        elif action == "clear-faults":
            disrupted = last_faults if last_faults is not None else float(started)
            out.append((ev, disrupted, float(started)))
            last_faults = None
        elif action in DEPLOY_ACTIONS and ev.get("window"):
            window = ev["window"]
            out.append((ev, float(window["start_s"]), float(window["end_s"])))
    return out
