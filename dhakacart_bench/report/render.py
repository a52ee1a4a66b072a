"""Rendering: the context into one self-contained HTML file.

jinja2 templates from the package (``report/templates``), autoescape on,
``StrictUndefined``; only the matplotlib SVG charts are inserted as markup. No script, no
external URL: the file opens offline. Files are written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import UsageError
from dhakacart_bench.humanize import fmt_ms, fmt_pct, signed_change
from dhakacart_bench.report.context import build_context, paired_limits
from dhakacart_bench.report.sections import gate_context
from dhakacart_bench.runfolder.layout import REPORT_NAME, umask_mode

if TYPE_CHECKING:
    import jinja2

    from dhakacart_bench.runfolder.reader import Run


def template_environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dhakacart_bench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = fmt_ms
    env.filters["pct"] = fmt_pct
    env.filters["num"] = lambda v, d=0: "—" if v is None else f"{v:,.{d}f}"
    env.filters["signed_pct"] = signed_change
    return env


def _write_atomic(out: Path, text: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        os.fchmod(fd, umask_mode())  # mkstemp makes 0600: give what open() would
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def render_report(
    run: Run, *, baseline: Run | None = None, out: Path | None = None, gate: Any = None
) -> Path:
    """Write the run's report (default ``<run>/report.html``, atomically); return its path.

    ``gate`` is a :class:`~dhakacart_bench.gate.GateResult` to show as the report's
    gate section (each rule, measured, allowed, pass/fail, baseline deltas).
    """
    ctx = build_context(run, baseline=baseline)
    if gate is not None:
        ctx["gate"] = gate_context(gate)
    html = template_environment().get_template("report.html").render(**ctx)
    return _write_atomic(Path(out) if out else run.path / REPORT_NAME, html)


def compare_path(run_a: Run, run_b: Run, out: Path | None = None) -> Path:
    """Where ``bench compare`` writes: ``out`` (a file, or a folder to write into), by
    default ``compare-<A>-vs-<B>.html`` beside run B. Never inside a run folder
    (UsageError): a run folder holds what its run measured, nothing else."""
    name = f"compare-{run_a.run_id}-vs-{run_b.run_id}.html"
    if out is None:
        target = run_b.path.resolve().parent / name
    else:
        target = Path(out)
        if target.is_dir():
            target = target / name
    resolved = target.resolve()
    for run in (run_a, run_b):
        folder = run.path.resolve()
        if folder == resolved or folder in resolved.parents:
            raise UsageError(
                f"--output {target} is inside the run folder {run.path}; write the"
                " comparison beside the runs instead (the default)"
            )
    return target


def render_compare(run_a: Run, run_b: Run, out: Path | None = None) -> Path:
    """Write a side-by-side report of ``run_a`` (baseline) and ``run_b``; return its path.

    Default path: :func:`compare_path`. Deltas are ``run_b`` relative to ``run_a``,
    judged with the gate's statistics (:func:`~dhakacart_bench.analysis.compare.
    compare_runs`); the paired charts share their value axes.
    """
    target = compare_path(run_a, run_b, out)
    limits = paired_limits(run_a, run_b)
    a = build_context(run_a, limits=limits)
    b = build_context(run_b, baseline=run_a, limits=limits)
    html = (
        template_environment()
        .get_template("compare.html")
        .render(a=a, b=b, changes=b["changes"], title=f"{a['run']['id']} vs {b['run']['id']}")
    )
    return _write_atomic(target, html)
