"""Reliability of a run folder: its probe checks, deploy windows and recovery times.

Reads ``probe.csv`` and run.json's ``sidecars`` section and measures them with the pure
maths of :mod:`dhakacart_bench.stats.availability` and :mod:`dhakacart_bench.stats.recovery`.
Definitions, in words, are in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhakacart_bench.runfolder.layout import PROBE_CSV
from dhakacart_bench.runfolder.reader import read_probe_csv
from dhakacart_bench.stats.availability import ALL, availability, error_budget, longest_gap
from dhakacart_bench.stats.recovery import (
    DEFAULT_BAND,
    DEPLOY_ACTIONS,
    Second,
    deploy_window,
    recovery_points,
    recovery_time,
)

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run
    from dhakacart_bench.stats.availability import Check, ErrorBudget, Gap, PathAvailability
    from dhakacart_bench.stats.recovery import DeployWindow, Recovery, RecoveryBand


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


def load_reliability(run: Run, *, band: RecoveryBand = DEFAULT_BAND) -> RunReliability:
    """Read and measure a run folder's probe and events (cheap when it has neither)."""
    sidecars = run.meta.sidecars
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
