"""``bench gate``: may this deploy go out? The CI gate on a run folder.

Thin: :func:`~dhakacart_bench.gate.rules.evaluate_gate` decides; this command parses
options, prints and writes the CI outputs (JUnit XML, Markdown summary — also appended to
``$GITHUB_STEP_SUMMARY`` when set — and ``gate.json`` in the run folder).
:func:`publish_gate` is shared with ``bench run --gate``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dhakacart_bench.cli.options import setting_option
from dhakacart_bench.errors import UsageError
from dhakacart_bench.gate.baseline import load_baseline
from dhakacart_bench.gate.junit import write_junit
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.gate.summary import render_markdown, render_text
from dhakacart_bench.runfolder.ab import is_ab_folder
from dhakacart_bench.runfolder.layout import GATE_JSON
from dhakacart_bench.runfolder.reader import load_run, resolve_run_dir

if TYPE_CHECKING:
    from dhakacart_bench.gate.result import GateResult


def publish_gate(
    result: GateResult,
    *,
    junit: Path | None = None,
    summary: Path | None = None,
    run_dir: Path | None = None,
) -> list[Path]:
    """Print the gate's text summary and warnings; write the requested outputs.

    The Markdown summary is also appended to ``$GITHUB_STEP_SUMMARY`` when it is set;
    ``run_dir`` gets a ``gate.json`` (skipped with a warning if it is not writable).
    Returns the files written.
    """

    step_summary = os.environ.get("GITHUB_STEP_SUMMARY") or None
    for warning in result.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    click.echo(render_text(result))
    written = []
    if junit is not None:
        written.append(write_junit(result, junit))
    markdown = render_markdown(result) if summary is not None or step_summary else ""
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(markdown, encoding="utf-8")
        written.append(summary)
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
        written.append(Path(step_summary))
    if run_dir is not None:
        from dhakacart_bench.runfolder.layout import atomic_write_text

        target = run_dir / GATE_JSON
        try:
            atomic_write_text(target, json.dumps(result.to_dict(), indent=1) + "\n")
            written.append(target)
        except OSError as exc:
            click.secho(f"Warning: could not write {target}: {exc}", fg="yellow", err=True)
    for path in written:
        click.echo(f"Wrote {path}", err=True)
    return written


def gate_ab_folder(
    path: Path,
    p95_regression_pct: float | None,
    endpoints: Sequence[str],
    junit: Path | None,
    summary: Path | None,
    report: bool,
    instance_spread_pct: float | None = None,
) -> None:
    """``bench gate`` on an A/B run folder: replay its looks, publish, exit."""
    from dhakacart_bench.gate.ab_judge import judge_ab_run

    judged = judge_ab_run(
        path,
        margin_pct=p95_regression_pct,
        endpoints=tuple(endpoints) or None,
        spread=None if instance_spread_pct is None else instance_spread_pct / 100,
    )
    publish_gate(
        judged.result,
        junit=junit,
        summary=summary,
        run_dir=path,
    )
    if report:
        from dhakacart_bench.report.ab import render_ab_report

        click.echo(f"Report: {render_ab_report(path, judged)}")
    raise SystemExit(judged.result.exit_code)


@click.command("gate")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="Baseline file (from `bench baseline save`) or a run folder.",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set).",
)
@setting_option("p95_regression_pct")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    help="Endpoint the regression rule checks, e.g. 'GET /api/products' or '*' (repeatable;"
    " default: the scenario's [gate] endpoints).",
)
@setting_option("min_endpoint_requests")
@setting_option("insufficient_data")
@setting_option("resamples")
@setting_option("confidence")
@setting_option("ab_instance_spread_pct")
@setting_option("reports_dir")
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Re-render the run's report.html with the gate section.",
)
def gate_command(
    run_dir: str,
    baseline: Path | None,
    junit: Path | None,
    summary: Path | None,
    p95_regression_pct: float | None,
    endpoints: Sequence[str],
    min_endpoint_requests: int,
    insufficient_data: str,
    resamples: int,
    confidence: float,
    ab_instance_spread_pct: float | None,
    reports_dir: Path,
    report: bool,
) -> None:
    """May this deploy go out? Check RUN_DIR's SLOs and p95 regressions.

    RUN_DIR is a run folder, or `latest` for the newest one under --reports-dir.
    An A/B run folder (`bench run --against`) is re-judged from its two arms.
    A p95 regression fails only when it exceeds the margin and the run-to-run
    noise (block bootstrap; see docs/gate.md). Exit codes: 0 pass, 1 a rule
    failed, 2 bad usage or a bad / mismatched baseline, 3 the run is not a valid
    gate input (interrupted, load generator saturated, too few requests).
    """

    path = resolve_run_dir(run_dir, reports_dir, ab=True)
    if is_ab_folder(path):  # a paired A/B run: re-judge it from its two arms (gate/ab_judge.py)
        if baseline is not None:
            raise UsageError("an A/B run folder carries its own baseline arm: leave out --baseline")
        gate_ab_folder(
            path, p95_regression_pct, endpoints, junit, summary, report, ab_instance_spread_pct
        )
    source = click.get_current_context().get_parameter_source("ab_instance_spread_pct")
    if source == click.core.ParameterSource.COMMANDLINE:  # BENCH_AB_INSTANCE_SPREAD: ignored
        raise UsageError("--instance-spread goes with an A/B run folder (bench run --against)")
    run = load_run(path)
    loaded = load_baseline(baseline) if baseline is not None else None
    run.require_complete()  # decide once: a folder missing data is refused before any rule
    result = evaluate_gate(
        run,
        baseline=loaded,
        p95_regression_pct=p95_regression_pct,
        endpoints=list(endpoints) or None,
        min_endpoint_requests=min_endpoint_requests,
        insufficient_data=insufficient_data,
        resamples=resamples,
        confidence=confidence,
    )
    publish_gate(
        result,
        junit=junit,
        summary=summary,
        run_dir=run.path,
    )
    if report:
        from dhakacart_bench.report.render import render_report

        click.echo(f"Report: {render_report(run, gate=result)}")
    raise SystemExit(result.exit_code)
