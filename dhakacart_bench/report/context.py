"""The report's context: one run as plain data — verdict, capacity, SLOs, tables,
metadata and SVG charts — for the templates to render.

Numbers are raw (ms, rates 0..1, req/s); the templates format them. Text from the
target (endpoint names, error messages, URLs) stays plain text here and is escaped by
the templates.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.capacity import evaluate_capacity
from dhakacart_bench.analysis.compare import Change, Comparison, compare_runs
from dhakacart_bench.analysis.plan import make_plan
from dhakacart_bench.analysis.sale import sale_story
from dhakacart_bench.analysis.slos import evaluate_slos, invariants_state
from dhakacart_bench.analysis.verdict import FAIL, PASS, Verdict, evaluate_verdict
from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.humanize import fmt_memory
from dhakacart_bench.report import charts
from dhakacart_bench.report import charts as charts_mod
from dhakacart_bench.report.sections import reliability_context
from dhakacart_bench.runfolder.meta import encode
from dhakacart_bench.stats.hdr import percentile_spectrum

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run


TOP_ENDPOINTS_IN_DISTRIBUTION = 4
ENDPOINT_STATS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")


def _model_words(run: Run) -> str:
    if run.workload_model == "open":
        arr = run.meta.arrivals
        detail = ""
        if arr is not None:
            detail = (
                f" Planned {arr.planned:,} arrivals, started {arr.started:,},"
                f" late {arr.late:,}, dropped {arr.dropped:,}."
            )
        return (
            "Open model: arrival rate — shoppers arrive on schedule whether or not the "
            "store is slow, so queueing shows up in the latencies." + detail
        )
    return (
        "Closed model: user count stages — each simulated shopper waits for a response "
        "before its next request, so latency under stalls may be understated "
        "(coordinated omission)."
    )


def _generator(run: Run) -> dict[str, Any]:
    gen = run.meta.generator
    if gen.saturated:
        words = (
            "SATURATED — "
            + (gen.reason or "CPU or lag too high")
            + ": its latencies measure the load generator, not the store"
            + fmt_memory(gen.peak_rss_mib, gen.peak_rss_kib_per_user)
            + "."
        )
    else:
        memory = fmt_memory(gen.peak_rss_mib, gen.peak_rss_kib_per_user)
        words = (
            f"Healthy: CPU p50 {gen.cpu_pct_p50}%, max {gen.cpu_pct_max}%;"
            f" event-loop lag p99 {gen.lag_ms_p99} ms{memory}"
            f" over {gen.processes} process(es)."
        )
    return {"words": words, "saturated": gen.saturated, "raw": encode(gen), "cpu": _cpu_words(run)}


def _cpu_words(run: Run) -> str:
    """Where this machine's CPU went: the generator, the target (when it ran here), and
    everybody else — a saturated target is a finding, not a noisy neighbour."""
    gen, machine = run.meta.generator, run.meta.machine
    parts = [
        f"load generator {gen.cpu_pct_p50 / 100:.2f} cores (p50, busiest of"
        f" {gen.processes} process(es))"
    ]
    if machine.target_source is not None:
        parts.append(
            f"target {machine.target_cores_mean:.2f} cores on average, at most"
            f" {machine.target_cores_max:.2f} ({machine.target_source})"
        )
    else:
        parts.append("target not on this machine, or not found (see --target-pid)")
    parts.append(
        f"other processes {machine.foreign_cores_mean:.2f} cores on average"
        f" ({'busy' if machine.busy else 'quiet'} machine)"
    )
    cores = gen.cpu_count
    where = f" of {cores} cores" if cores else ""
    return f"CPU{where}: " + "; ".join(parts) + "."


def _endpoints(run: Run) -> list[dict[str, Any]]:
    """Every endpoint's row, then the total: summary.json's exact figures."""
    rows = []
    for summary_row in (*run.summary.endpoints, run.summary.total):
        count, failures = summary_row.count, summary_row.failures
        row: dict[str, Any] = {
            "name": summary_row.name,
            "count": count,
            "failures": failures,
            "error_rate": failures / count if count else 0.0,
            "rps": summary_row.rps,
        }
        row.update({k: summary_row.get(k) for k in ENDPOINT_STATS})
        rows.append(row)
    return rows


def _histograms(run: Run) -> dict[str, Any]:
    """The intact whole-run histograms; a bad or missing one is left out (and named by
    ``run.problems()`` in the report's "skipped" note)."""
    out = {}
    for name in ["*", *run.endpoints()]:
        try:
            out[name] = run.histogram(name)
        except (KeyError, RunFolderError):
            continue
    return out


def _p95_target(run: Run) -> float | None:
    for s in run.scenario.slos:
        if s.metric == "p95_ms" and s.endpoint == "*":
            return s.max
    return None


def _charts(
    run: Run,
    hists: dict[str, Any],
    endpoints: list[dict[str, Any]],
    capacity: dict[str, Any],
    verdict: Verdict,
    limits: charts_mod.ChartLimits | None = None,
) -> dict[str, str]:
    lim = limits or charts_mod.ChartLimits()

    ts = run.timeseries()
    busiest = sorted((r for r in endpoints if r["name"] != "*"), key=lambda r: -r["count"])
    names = ["*"] + [r["name"] for r in busiest[:TOP_ENDPOINTS_IN_DISTRIBUTION]]
    spectra = {n: percentile_spectrum(hists[n]) for n in names if n in hists}
    stalls = []
    if verdict.omission is not None:
        stalls = [(s.start_s, s.end_s + 1) for s in verdict.omission.stalls.stalls]
    out = {
        "load": charts.load_chart(ts, stalls=stalls, rps_top=lim.rps_top, users_top=lim.users_top),
        "latency": charts.latency_chart(
            ts,
            slo_ms=_p95_target(run),
            top_ms=lim.latency_top_ms,
            bottom_ms=lim.latency_bottom_ms,
            log=lim.latency_log,
        ),
        "errors": charts.errors_chart(ts, run.errors, top_pct=lim.error_top_pct),
        "distribution": charts.distribution_chart(spectra, ylim_ms=lim.spectrum_ms),
    }
    if len(capacity["levels"]) >= 2:
        out["capacity"] = charts.capacity_chart(
            capacity["levels"],
            knee_users=capacity["knee_users"],
            held_users=capacity["held_users"] if capacity["broke_users"] else None,
            usl=capacity["usl"],
            p95_target_ms=_p95_target(run),
            rps_top=lim.capacity_rps_top,
            p95_top_ms=lim.capacity_p95_top_ms,
        )
    return out


def _change(c: Change) -> dict[str, Any]:
    return {
        **asdict(c),
        "text": c.text,
        "arrow": c.arrow,
        "direction": c.direction,
        "significant": c.significant,
        "better": c.better,
        "interval": c.interval_text,
    }


def changes_context(cmp: Comparison) -> dict[str, Any]:
    """What changed from the baseline, judged: worse / better only beyond the noise."""
    return {
        "baseline_id": cmp.baseline_id,
        "method": cmp.method,
        "confidence": cmp.confidence,
        "tests": cmp.tests,
        "unchanged": cmp.unchanged,
        "top": [_change(c) for c in cmp.top_changes],
        "rows": [
            {
                "endpoint": r["endpoint"],
                "count": r["count"],
                "count_baseline": r["count_baseline"],
                "metrics": {m: _change(c) for m, c in r["changes"].items()},
            }
            for r in cmp.rows
        ],
    }


def verdict_context(verdict: Verdict) -> dict[str, Any]:
    """The banner: status, its scale, the answer to "ready?", what was and was not shown."""
    scale = verdict.scale
    omission = verdict.omission
    return {
        "status": verdict.status,
        "headline": verdict.headline,
        "reasons": list(verdict.reasons),
        "css": {PASS: "pass", FAIL: "fail"}.get(verdict.status, "inconclusive"),
        "scale_words": None if scale is None else scale.words,
        "scale_fraction": None if scale is None else scale.fraction,
        "full_size": verdict.full_size,
        "ready": verdict.ready,
        "shown": verdict.shown,
        "not_shown": verdict.not_shown,
        "latency_understated": verdict.latency_understated,
        "stalls": None
        if omission is None
        else {
            "count": len(omission.stalls.stalls),
            "lost_s": omission.stalls.lost_s,
            "fraction": omission.stalls.fraction,
            "reported_p99_ms": omission.reported_p99_ms,
            "estimated_p99_ms": omission.estimated_p99_ms,
        },
    }


def _sale(run: Run) -> dict[str, Any] | None:
    story = sale_story(run)
    if story is None:
        return None
    return {**asdict(story), "sold_out_after_s": story.sold_out_after_s, "lines": story.lines()}


def _plan_users(run: Run) -> int | None:
    users = run.scenario.load.reference_users or run.meta.users.reference_peak
    return int(users) if users else None


def paired_limits(*runs: Run) -> charts_mod.ChartLimits:
    """Value axes that fit every run's charts, so side-by-side charts share their scale."""
    spectra = []
    levels = []
    for run in runs:
        hists = _histograms(run)
        busiest = sorted(run.summary.endpoints, key=lambda r: -r.count)
        names = ["*"] + [r.name for r in busiest[:TOP_ENDPOINTS_IN_DISTRIBUTION]]
        spectra.append({n: percentile_spectrum(hists[n]) for n in names if n in hists})
        levels.append(
            [{"rps": lv.rps, "p95_ms": lv.stats.p95_ms} for lv in evaluate_capacity(run).levels]
        )
    return charts_mod.shared_limits([run.timeseries() for run in runs], spectra, levels)


def build_context(
    run: Run,
    *,
    baseline: Run | None = None,
    charts: bool = True,
    limits: charts_mod.ChartLimits | None = None,
) -> dict[str, Any]:
    """The report as plain data: verdict, capacity, SLOs, tables, metadata, SVG charts.

    Numbers are raw (ms, rates 0..1, req/s); the template formats them. ``charts=False``
    skips the matplotlib work (for tests and callers that only need the numbers);
    ``limits`` fixes the charts' value axes (paired charts of a comparison share them).
    """
    slos = evaluate_slos(run)
    verdict = evaluate_verdict(run, slos)
    cap = evaluate_capacity(run)
    hists = _histograms(run)
    endpoints = _endpoints(run)
    inv_ok, inv_words = invariants_state(run.meta.invariants)
    inv = run.meta.invariants
    capacity = {
        "headline": cap.headline,
        "supported": cap.supported,
        "mode": cap.mode,
        "peak_rps": cap.peak_rps,
        "held_users": cap.held.users if cap.held else None,
        "broke_users": cap.broke.users if cap.broke else None,
        "knee_users": cap.throughput_knee.users if cap.throughput_knee else None,
        "knee_rps": cap.throughput_knee.rps if cap.throughput_knee else None,
        "levels": [
            {
                "users": lv.users,
                "seconds": lv.seconds,
                "requests": lv.requests,
                "rps": lv.rps,
                "error_rate": lv.error_rate,
                "p50_ms": lv.stats.p50_ms,
                "p95_ms": lv.stats.p95_ms,
                "p99_ms": lv.stats.p99_ms,
                "held": lv.held,
                "broken": list(lv.broken),
            }
            for lv in cap.levels
        ],
        "usl": asdict(cap.usl),
    }
    plan_users = _plan_users(run)
    plan = None
    if plan_users and run.summary.total.count:
        plan = make_plan(run, users=plan_users, capacity=cap)
    ctx: dict[str, Any] = {
        "title": f"{run.scenario_name or 'run'} — {run.run_id}",
        "run": {
            "id": run.run_id,
            "scenario": run.scenario_name,
            "description": run.scenario.description,
            "started_at": run.meta.started_at,
            "ended_at": run.meta.ended_at,
            "duration_s": run.duration_s,
            "status": run.status,
            "status_reason": run.meta.status_reason,
            "host": run.meta.host,
            "target": run.meta.target,
            "workload_model": run.workload_model,
            "model_words": _model_words(run),
            "versions": dict(run.meta.versions),
            "users": encode(run.meta.users),
            "scenario_json": json.dumps(run.scenario.to_dict(), indent=2, sort_keys=True),
        },
        "generator": _generator(run),
        "verdict": verdict_context(verdict),
        "capacity": capacity,
        "slos": [
            {
                "name": r.name,
                "metric": r.metric,
                "endpoint": r.endpoint,
                "target": r.target,
                "measured": r.measured,
                "measured_text": r.measured_text,
                "passed": r.passed,
                "reason": r.reason,
            }
            for r in slos
        ],
        "invariants": {
            "ok": inv_ok,
            "words": inv_words,
            "problems": list(inv.problems) if inv else [],
            "stats": dict(inv.stats) if inv else {},
        },
        "outcomes": None if run.meta.outcomes is None else encode(run.meta.outcomes),
        "sale": _sale(run),
        "endpoints": endpoints,
        "errors": encode(sorted(run.errors, key=lambda e: (-e.count, e.first_seen_s))),
        "errors_overflow": run.meta.errors_overflow,
        "plan": None if plan is None else {**asdict(plan), "lines": plan.lines()},
        "changes": None,
        "charts": {},
        #: what of the measured data could not be read and is left out of this report
        "skipped": list(run.problems()),
    }
    if baseline is not None:
        ctx["changes"] = changes_context(compare_runs(baseline, run))
    if charts:
        ctx["charts"] = _charts(run, hists, endpoints, capacity, verdict, limits)

    ctx["reliability"] = reliability_context(run, charts=charts)  # None: no probe, no events
    return ctx
