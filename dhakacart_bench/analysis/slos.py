"""SLOs: every ``[[slo]]`` of the run's scenario checked against what the run measured.

Latency and error SLOs read summary.json's exact figures; reliability SLOs
(``availability_pct``, ``deploy_failed_requests``, ...) come from
:mod:`dhakacart_bench.analysis.reliability`. An SLO that cannot be checked (no requests,
no probe) is ``passed=None``, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.analysis.reliability import (
    RunReliability,
    load_reliability,
    measure_slo,
    not_recovered,
)
from dhakacart_bench.humanize import fmt_availability, fmt_ms, fmt_pct
from dhakacart_bench.runfolder.meta import InvariantsMeta
from dhakacart_bench.scenario.metrics import LATENCY_METRICS, METRIC_LABEL, RELIABILITY_METRICS

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run


def fmt_value(metric: str, value: float | None) -> str:
    """Format a measured value of ``metric`` (ms, rate or req/s)."""
    if value is None:
        return "—"
    if metric in LATENCY_METRICS:
        return fmt_ms(value)
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return f"{value:,.1f} req/s"
    if metric == "availability_pct":
        return fmt_availability(value)
    if metric in ("recovery_s", "longest_gap_s"):
        return f"{value:,.1f} s"
    if metric == "deploy_failed_requests":
        return f"{value:,.0f} failed"
    return str(value)


@dataclass(frozen=True)
class SloResult:
    """One SLO of the scenario, checked against the run.

    ``passed`` is True, False, or None when it could not be checked (no data, or
    invariants not checked); None is never a pass.
    """

    name: str
    metric: str
    endpoint: str
    target_max: float | None
    target_min: float | None
    measured: float | None
    passed: bool | None
    reason: str

    @property
    def target(self) -> str:
        """The target in words: ``≤ 500 ms``, ``≥ 100.0 req/s``, ``none broken``."""
        if self.metric == "invariants":
            return "none broken"
        parts = []
        if self.target_max is not None:
            parts.append(f"≤ {fmt_value(self.metric, self.target_max)}")
        if self.target_min is not None:
            parts.append(f"≥ {fmt_value(self.metric, self.target_min)}")
        return " and ".join(parts) or "—"

    @property
    def measured_text(self) -> str:
        """The measured value in words."""
        if self.metric == "invariants":
            return {True: "none broken", False: "broken", None: "not checked"}[self.passed]
        return fmt_value(self.metric, self.measured)


def _check(value: float | None, lo: float | None, hi: float | None) -> bool | None:
    if value is None:
        return None
    return (hi is None or value <= hi) and (lo is None or value >= lo)


def invariants_state(inv: InvariantsMeta | None) -> tuple[bool | None, str]:
    """(ok, words) for run.json's invariants: None when not checked."""
    if inv is None:
        return None, "not checked (the target is not the bundled store)"
    if not inv.checked:
        return None, "not checked: " + (inv.reason or "the check did not run")
    if inv.ok:
        return True, "none broken"
    return False, "broken: " + ("; ".join(inv.problems[:3]) or "the check failed")


def evaluate_slos(run: Run) -> tuple[SloResult, ...]:
    """Check every SLO of the run's scenario against the run."""
    results = []
    reliability: RunReliability | None = None
    for slo in run.scenario.slos:
        metric, endpoint, hi, lo = slo.metric, slo.endpoint, slo.max, slo.min
        name = slo.name or f"{METRIC_LABEL.get(metric, metric)} {endpoint}"
        measured: float | None = None
        if metric in RELIABILITY_METRICS:
            if reliability is None:
                reliability = load_reliability(run)
            measured, passed, reason = _reliability_slo(reliability, metric, endpoint, lo, hi)
        elif metric == "invariants":
            passed, reason = invariants_state(run.meta.invariants)
        else:
            row = run.summary.row(endpoint)
            if row is None or row.count == 0:
                measured, passed, reason = None, None, f"no requests to {endpoint}"
            else:
                if metric in LATENCY_METRICS:
                    measured = row.get(metric)  # exact: summary.json clamps to min and max
                elif metric == "error_rate":
                    measured = row.failures / row.count
                elif metric == "rps":
                    measured = row.rps
                passed = _check(measured, lo, hi)
                if passed is None:
                    reason = f"unknown metric {metric!r}"
                else:
                    target = SloResult(name, metric, endpoint, hi, lo, None, None, "").target
                    reason = f"measured {fmt_value(metric, measured)}, target {target}"
        results.append(SloResult(name, metric, endpoint, hi, lo, measured, passed, reason))
    return tuple(results)


def _reliability_slo(
    rel: RunReliability, metric: str, endpoint: str, lo: float | None, hi: float | None
) -> tuple[float | None, bool | None, str]:
    """(measured, passed, reason) of a reliability SLO; missing data is never a pass."""

    measured, why_not = measure_slo(rel, metric, endpoint)
    if measured is None:
        return None, None, why_not or "no data"
    target = SloResult("", metric, endpoint, hi, lo, None, None, "").target
    reason = f"measured {fmt_value(metric, measured)}, target {target}"
    if metric == "recovery_s" and (stuck := not_recovered(rel)):
        labels = ", ".join(r.label or r.action for r in stuck)
        return measured, False, f"not recovered by the end of the run after {labels}; {reason}"
    return measured, _check(measured, lo, hi), reason
