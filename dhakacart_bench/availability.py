"""Reliability maths: availability, error budget, deploy windows and recovery times.

Pure functions over plain records (probe checks, per-second statistics, event
records), each tested on synthetic data with known answers; :func:`measure_slo` and
:func:`reliability_summary` read them from a run folder (``probe.csv``, ``run.json``'s
``"sidecars"`` section, ``timeseries.csv``, ``windows.jsonl``, ``errors.json``).
Definitions, in words, are in docs/reliability.md.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhakacart_bench.reliability import PROBE_CSV, Check

if TYPE_CHECKING:
    from dhakacart_bench.runfolder import Run

ALL = "*"
MONTH_S = 30 * 86400
#: Failures this long after a deploy reports done still count to its window
#: (a request sent during the deploy may fail a moment later).
DEPLOY_GRACE_S = 2.0
#: Seconds before a deploy that "p95 before" is measured over.
BEFORE_S = 10
DEPLOY_ACTIONS = ("deploy", "command")


# ---------------------------------------------------------------- availability


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


def fmt_availability(pct: float | None) -> str:
    """``99.95%``: enough digits to tell 99.9 from 99.99, never rounded up to 100."""
    if pct is None:
        return "—"
    if pct >= 100:
        return "100%"
    for digits in range(1, 6):
        text = f"{pct:.{digits}f}"
        if float(text) < 100 and (pct < 99 or digits >= 2):
            return text.rstrip("0").rstrip(".") + "%"
    return f"{pct:.5f}%"


def fmt_duration_words(seconds: float | None) -> str:
    """``0 s``, ``45 s``, ``22 min``, ``3.6 h``, ``2.1 days``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == 0 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# ---------------------------------------------------------------- gaps


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


# ---------------------------------------------------------------- per-second statistics


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
    from dhakacart_bench.analysis import hist_stats

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


# ---------------------------------------------------------------- deploy windows


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
    errors: Sequence[Mapping[str, Any]],
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
        seen_first = float(err.get("first_seen_s") or 0)
        seen_last = float(err.get("last_seen_s") or seen_first)
        if seen_last < first_sec or seen_first >= last_sec + 1:
            continue
        exact = seen_first >= first_sec and seen_last < last_sec + 1
        kinds.append(
            {
                "endpoint": str(err.get("endpoint", "")),
                "kind": str(err.get("kind", "")),
                "status": err.get("status"),
                "message": str(err.get("message", "")),
                "count": int(err.get("count") or 0),
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


# ---------------------------------------------------------------- recovery


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


# ---------------------------------------------------------------- from a run folder


def read_probe_csv(text: str) -> list[Check]:
    """Parse ``probe.csv`` (written by the probe sidecar)."""
    rows = csv.DictReader(text.splitlines())
    return [
        Check(
            t_s=float(r["t_s"]),
            path=r["path"],
            ok=r["ok"] == "1",
            status=int(r["status"]) if r["status"] else None,
            kind=r["kind"],
            latency_ms=float(r["latency_ms"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class RunReliability:
    """Everything reliability a run folder holds (None / empty when it was not measured)."""

    probe: Mapping[str, Any] | None
    checks: tuple[Check, ...] | None
    events: tuple[Mapping[str, Any], ...]
    availability: Mapping[str, PathAvailability] = field(default_factory=dict)
    budget: ErrorBudget | None = None
    gap: Gap | None = None
    deploys: tuple[DeployWindow, ...] = ()
    recoveries: tuple[Recovery, ...] = ()

    @property
    def has_data(self) -> bool:
        return self.checks is not None or bool(self.events)


def _seconds(run: Run) -> list[Second]:
    ts = run.timeseries()
    out = []
    for row in ts.itertuples(index=False):
        p95 = getattr(row, "p95_ms", None)
        requests = int(getattr(row, "requests", 0) or 0)
        out.append(
            Second(
                second=int(row.second),
                requests=requests,
                failures=int(getattr(row, "failures", 0) or 0),
                p95_ms=None if p95 is None or p95 != p95 else float(p95),
            )
        )
    return out


def _sidecars(run: Run) -> Mapping[str, Any]:
    value = run.meta.get("sidecars")
    return value if isinstance(value, Mapping) else {}


def load_reliability(run: Run, *, band: RecoveryBand = DEFAULT_BAND) -> RunReliability:
    """Read and measure a run folder's probe and events (cheap when it has neither)."""
    sidecars = _sidecars(run)
    probe = sidecars.get("probe") if isinstance(sidecars.get("probe"), Mapping) else None
    events_section = sidecars.get("events") if isinstance(sidecars.get("events"), Mapping) else {}
    events = tuple(e for e in (events_section or {}).get("events") or [] if isinstance(e, Mapping))
    checks: tuple[Check, ...] | None = None
    if probe is not None:
        path = run.path / str(probe.get("file") or PROBE_CSV)
        try:
            checks = tuple(read_probe_csv(path.read_text(encoding="utf-8")))
        except OSError:
            checks = None
    if checks is None and not events:
        return RunReliability(None, None, ())
    avail: dict[str, PathAvailability] = {}
    budget = gap = None
    interval = float(probe.get("interval_s") or 0) if probe else 0.0
    if checks is not None and probe is not None:
        avail = availability(checks)
        overall = avail[ALL].pct
        if overall is not None:
            budget = error_budget(overall, float(probe.get("slo_pct") or 99.9))
            gap = longest_gap(checks, interval_s=interval)
    seconds = _seconds(run) if events else []
    deploys = []
    windows = None
    for ev in events:
        if ev.get("action") in DEPLOY_ACTIONS and ev.get("window"):
            if windows is None:
                windows = list(run.iter_windows())
            deploys.append(
                deploy_window(
                    ev,
                    seconds=seconds,
                    checks=checks,
                    errors=run.errors,
                    windows=windows,
                    interval_s=interval or None,
                )
            )
    recoveries: list[Recovery] = []
    settled: float | None = None  # when the previous disruption was over
    for ev, disrupted, start in recovery_points(events):
        rec = recovery_time(
            seconds,
            disrupted_s=disrupted,
            from_s=start,
            end_s=run.duration_s,
            band=band,
            not_before_s=settled,
            label=str(ev.get("label", "")),
            action=str(ev.get("action", "")),
        )
        recoveries.append(rec)
        settled = max(settled or 0.0, start + (rec.recovery_s or 0.0))
    return RunReliability(
        probe=probe,
        checks=checks,
        events=events,
        availability=avail,
        budget=budget,
        gap=gap,
        deploys=tuple(deploys),
        recoveries=tuple(recoveries),
    )


def measure_slo(
    rel: RunReliability, metric: str, endpoint: str = ALL
) -> tuple[float | None, str | None]:
    """(measured value, why not) of a reliability SLO metric; a value of None comes with
    the reason it could not be checked."""
    if metric in ("availability_pct", "longest_gap_s"):
        if rel.checks is None:
            return None, "no probe checks in this run (the scenario has no [probe])"
        if metric == "longest_gap_s":
            return (rel.gap.length_s if rel.gap else None), None if rel.gap else "no probe checks"
        row = rel.availability.get(endpoint)
        if row is None or row.pct is None:
            return None, f"no probe checks of {endpoint}"
        return row.pct, None
    if metric == "deploy_failed_requests":
        if not rel.deploys:
            return None, "no deploy happened in this run (no deploy or command event ran)"
        return float(sum(d.failed_requests for d in rel.deploys)), None
    if metric == "recovery_s":
        measured = [r for r in rel.recoveries if r.recovery_s is not None]
        if not measured:
            why = "; ".join(r.note for r in rel.recoveries if r.note)
            return None, "no event to recover from in this run" + (f" ({why})" if why else "")
        return max(float(r.recovery_s or 0.0) for r in measured), None
    return None, f"unknown metric {metric!r}"


def not_recovered(rel: RunReliability) -> list[Recovery]:
    """The recoveries that did not happen by the end of the run."""
    return [r for r in rel.recoveries if not r.recovered and r.recovery_s is not None]


def report_context(run: Run, *, charts: bool = True) -> dict[str, Any] | None:
    """The report's reliability section as plain data; None when the run has no probe
    and no events (the section is then left out)."""
    rel = load_reliability(run)
    if not rel.has_data:
        return None
    probe = dict(rel.probe or {})
    paths = [
        {
            "path": p.path,
            "checks": p.checks,
            "failures": p.failures,
            "pct": p.pct,
            "pct_text": fmt_availability(p.pct),
        }
        for p in rel.availability.values()
    ]
    deploys = [
        {
            "label": d.label,
            "action": d.action,
            "start_s": d.start_s,
            "end_s": d.end_s,
            "seconds": d.end_s - d.start_s,
            "ok": d.ok,
            "failed_requests": d.failed_requests,
            "locust_failed": d.locust_failed,
            "locust_requests": d.locust_requests,
            "locust_errors": list(d.locust_errors),
            "probe_checks": d.probe_checks,
            "probe_failed": d.probe_failed,
            "probe_by_kind": dict(d.probe_by_kind),
            "longest_gap_s": d.longest_gap_s,
            "p95_before_ms": d.p95_before_ms,
            "p95_during_ms": d.p95_during_ms,
        }
        for d in rel.deploys
    ]
    recoveries = [
        {
            "label": r.label or r.action,
            "action": r.action,
            "from_s": r.from_s,
            "recovered": r.recovered,
            "recovery_s": r.recovery_s,
            "baseline_p95_ms": r.baseline_p95_ms,
            "p95_limit_ms": r.p95_limit_ms,
            "error_limit": r.error_limit,
            "note": r.note,
        }
        for r in rel.recoveries
    ]
    events = [
        {
            "label": str(e.get("label", "")),
            "action": str(e.get("action", "")),
            "at_s": e.get("at_s"),
            "started_s": e.get("started_s"),
            "ended_s": e.get("ended_s"),
            "ok": e.get("ok"),
            "error": e.get("error"),
            "detail": ", ".join(f"{k}: {v}" for k, v in (e.get("detail") or {}).items()),
        }
        for e in rel.events
    ]
    chart = ""
    if charts and rel.checks:
        from dhakacart_bench import charts as charts_mod

        chart = charts_mod.probe_timeline_chart(
            rel.checks, rel.events, paths=[str(p) for p in probe.get("paths") or []]
        )
    return {
        "probe": probe or None,
        "words": rel.budget.words if rel.budget else None,
        "budget": None
        if rel.budget is None
        else {
            "slo_pct": rel.budget.slo_pct,
            "measured_pct": rel.budget.measured_pct,
            "measured_text": fmt_availability(rel.budget.measured_pct),
            "consumed_pct": None
            if math.isinf(rel.budget.consumed_pct)
            else rel.budget.consumed_pct,
            "downtime_month": fmt_duration_words(rel.budget.downtime_month_s),
            "allowed_downtime_month": fmt_duration_words(rel.budget.allowed_downtime_month_s),
            "ok": rel.budget.ok,
        },
        "paths": paths,
        "gap": None
        if rel.gap is None
        else {
            "length_s": rel.gap.length_s,
            "path": rel.gap.path,
            "start_s": rel.gap.start_s,
            "recovered": rel.gap.recovered,
        },
        "interval_s": probe.get("interval_s"),
        "deploys": deploys,
        "recoveries": recoveries,
        "events": events,
        "chart": chart,
    }
