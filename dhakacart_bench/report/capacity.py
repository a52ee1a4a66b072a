"""The capacity report (``capacity.html`` in a capacity folder): the answer first, then
the capacity curve, p95 per endpoint against offered load, every level tried, and — for
the bundled store — the store's own view (its ``/metrics``) at the knee.

As with the run report: a plain context dict first (:func:`capacity_context`, tested
for numbers), rendered second by the package's templates (autoescape on).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from dhakacart_bench.analysis.store_view import busiest
from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.report.capacity_charts import capacity_curve_chart, endpoint_p95_chart
from dhakacart_bench.report.render import _write_atomic, template_environment
from dhakacart_bench.runfolder.capacity import CAPACITY_REPORT, CapacityMeta
from dhakacart_bench.runfolder.reader import load_run

#: At most this many endpoints in the p95 chart (the SLO endpoints and the busiest).
MAX_CHART_ENDPOINTS = 6


def _slo_ms(folder: Path, meta: CapacityMeta) -> dict[str, float]:
    """p95 SLO per endpoint, from the scenario stored in the first level's run folder."""
    if not meta.levels:
        return {}
    try:
        scenario = load_run(folder / meta.levels[0].run_dir).scenario
    except RunFolderError:
        return {}
    return {s.endpoint: s.max for s in scenario.slos if s.metric == "p95_ms" and s.max is not None}


def _chart_endpoints(meta: CapacityMeta, slo: dict[str, float]) -> list[str]:
    counts: dict[str, int] = {}
    for lv in meta.levels:
        for name, row in lv.endpoints.items():
            counts[name] = counts.get(name, 0) + row.requests
    chosen = [e for e in slo if e in counts]
    for name in sorted(counts, key=lambda n: -counts[n]):
        if len(chosen) >= MAX_CHART_ENDPOINTS:
            break
        if name not in chosen:
            chosen.append(name)
    return chosen


def _knee_view(meta: CapacityMeta) -> list[dict[str, Any]]:
    """The store's view of the sustainable level and of the first bad one, per endpoint."""
    good = [lv for lv in meta.levels if lv.rate == meta.sustainable_rate and lv.held]
    bad = [lv for lv in meta.levels if lv.rate == meta.breaking_rate and not lv.held]
    views = []
    for title, chosen in (("sustainable", good), ("first bad", bad)):
        lv = chosen[-1] if chosen else None
        if lv is None or not lv.store_view:
            continue
        rows = [
            {
                "endpoint": name,
                "rps": row["requests"] / lv.seconds if lv.seconds else 0.0,
                "mean_ms": row["mean_ms"],
                "errors_5xx": row["errors_5xx"],
            }
            for name, row in busiest(lv.store_view)
        ]
        views.append({"title": title, "rate": lv.rate, "offered_rps": lv.offered_rps, "rows": rows})
    return views


def capacity_context(folder: Path, meta: CapacityMeta) -> dict[str, Any]:
    """Everything the capacity page shows, as plain data (charts as SVG text)."""
    levels = [asdict(lv) for lv in meta.levels]
    slo = _slo_ms(folder, meta)
    endpoints = _chart_endpoints(meta, slo)
    return {
        "title": f"Capacity — {meta.scenario_name}",
        "meta": asdict(meta),
        "levels": levels,
        "curve_svg": capacity_curve_chart(levels, sustainable_rps=meta.sustainable_rps)
        if levels
        else None,
        "p95_svg": endpoint_p95_chart(levels, slo_ms=slo, endpoints=endpoints) if levels else None,
        "store_views": _knee_view(meta),
        "found": meta.status == "found" and meta.sustainable_rps is not None,
    }


def render_capacity(folder: Path, meta: CapacityMeta, out: Path | None = None) -> Path:
    """Write ``capacity.html`` (default in the capacity folder, atomically); return its path."""
    ctx = capacity_context(Path(folder), meta)
    html = template_environment().get_template("capacity.html").render(**ctx)
    return _write_atomic(Path(out) if out else Path(folder) / CAPACITY_REPORT, html)
