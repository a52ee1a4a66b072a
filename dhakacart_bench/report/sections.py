"""Section contexts of the report that come from other stages: the gate's rules and
the reliability section (probe, deploy windows, recovery), as plain dicts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.reliability import load_reliability
from dhakacart_bench.analysis.verdict import FAIL, PASS
from dhakacart_bench.gate.result import ERROR, FAILED, INVALID, PASSED, SKIPPED
from dhakacart_bench.gate.summary import decision_text, endpoint_label
from dhakacart_bench.humanize import fmt_availability, fmt_duration_words
from dhakacart_bench.report import charts as charts_mod
from dhakacart_bench.stats.bootstrap import METHOD

if TYPE_CHECKING:
    from dhakacart_bench.gate.result import GateResult
    from dhakacart_bench.runfolder.reader import Run


def gate_context(result: GateResult) -> dict[str, Any]:
    """The plain dict the ``_gate.html`` partial renders (context key ``gate``)."""
    return {
        "decision": result.decision,
        "css": {PASS: "pass", FAIL: "fail", INVALID: "inconclusive"}[result.decision],
        "exit_code": result.exit_code,
        "verdict": result.verdict_line,
        "run_id": result.run_id,
        "scenario": result.scenario,
        "baseline_id": result.baseline_id,
        "margin": f"+{result.p95_regression_pct:g}%",
        "warnings": list(result.warnings),
        "method": next((r.regression.method for r in result.rules if r.regression), METHOD),
        "counts": {s: result.count(s) for s in (PASSED, FAILED, SKIPPED, ERROR)},
        "rules": [
            {
                "name": r.name,
                "kind": r.kind,
                "endpoint": endpoint_label(r.endpoint),
                "measured": r.measured_text,
                "allowed": r.allowed_text,
                "status": r.status,
                "decision": r.decision,
                "message": r.message,
                "decision_text": decision_text(r),
                "interval": r.regression.interval_text if r.regression else None,
            }
            for r in result.rules
        ],
    }


def reliability_context(run: Run, *, charts: bool = True) -> dict[str, Any] | None:
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
