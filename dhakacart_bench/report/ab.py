"""The A/B report: both arms side by side, the gate's decision and how it was reached.

Context first (:func:`ab_context`, plain data), rendering second (``ab.html``). Written
to ``<ab run>/report.html``; each arm's own folder can still get its single-run report
with ``bench report <ab run>/candidate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench.gate.ab import looks_summary
from dhakacart_bench.gate.ab_judge import rules_of
from dhakacart_bench.gate.summary import endpoint_label
from dhakacart_bench.report.ab_charts import arms_p95_chart, ratio_chart
from dhakacart_bench.report.render import _write_atomic, template_environment
from dhakacart_bench.report.sections import gate_context
from dhakacart_bench.runfolder.ab import ARMS
from dhakacart_bench.runfolder.layout import REPORT_NAME
from dhakacart_bench.runfolder.reader import load_run

if TYPE_CHECKING:
    from dhakacart_bench.gate.ab_judge import ABJudgement


def ab_context(run_dir: Path, judged: ABJudgement, *, charts: bool = True) -> dict[str, Any]:
    """Everything ``ab.html`` shows, as plain data."""
    meta = judged.meta
    runs = {arm: load_run(meta.arm_dir(run_dir, arm)) for arm in ARMS}
    names = sorted({r.name for run in runs.values() for r in run.summary.endpoints})
    rows = []
    for name in ["*", *names]:
        cells = {}
        for arm, run in runs.items():
            row = (
                run.summary.total
                if name == "*"
                else next((r for r in run.summary.endpoints if r.name == name), None)
            )
            cells[arm] = row
        rows.append({"endpoint": endpoint_label(name), **cells})
    deciding = judged.deciding
    decided_at = None if deciding.final else deciding.t_s
    ctx: dict[str, Any] = {
        "title": f"A/B gate: {meta.scenario_name} — {judged.result.decision}",
        "meta": meta,
        "arms": [{"name": arm, "info": meta.arms[arm], "run_id": runs[arm].run_id} for arm in ARMS],
        "rows": rows,
        "gate": gate_context(judged.result),
        "decided_at_s": decided_at,
        "looks": looks_summary(judged.looks),
        "plan": meta.plan,
        "spending": rules_of(meta).plan.method,
        "spread": judged.spread,
        "charts": {},
    }
    if charts:
        series = {}
        for arm, run in runs.items():
            ts = run.timeseries()
            series[arm] = (ts["second"].tolist(), ts["p95_ms"].tolist())
        ctx["charts"] = {
            "p95": arms_p95_chart(
                series,
                decided_at_s=decided_at,
                warmup_s=float(meta.plan.get("warmup_s", 0.0)),
            ),
            "ratio": ratio_chart(ctx["looks"], margin_pct=judged.result.p95_regression_pct),
        }
    return ctx


def render_ab_report(run_dir: Path | str, judged: ABJudgement, out: Path | None = None) -> Path:
    """Write the A/B report (default ``<run_dir>/report.html``); return its path."""
    run_dir = Path(run_dir)
    html = template_environment().get_template("ab.html").render(**ab_context(run_dir, judged))
    return _write_atomic(Path(out) if out else run_dir / REPORT_NAME, html)
