"""``bench gate`` and ``bench baseline save``: the CI deploy gate on a run folder.

Thin: :func:`~dhakacart_bench.gate.evaluate_gate` decides,
:mod:`dhakacart_bench.baseline` reads and writes baselines; these commands parse
options, print and write the CI outputs (JUnit XML, Markdown summary, also
appended to ``$GITHUB_STEP_SUMMARY`` when set, and ``gate.json`` in the run
folder). :func:`publish_gate` is shared with ``bench run --gate``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dhakacart_bench.errors import RunFolderError

if TYPE_CHECKING:
    from dhakacart_bench.gate import GateResult

DEFAULT_REPORTS_DIR = Path("reports")
GATE_JSON = "gate.json"
LATEST = "latest"


def resolve_run_dir(run_dir: str, reports_dir: Path) -> Path:
    """``RUN_DIR`` as given, or for ``latest`` the newest complete run folder under
    ``reports_dir`` (by the timestamp its name starts with, then by run.json's time)."""
    path = Path(run_dir)
    if run_dir != LATEST or path.exists():
        return path
    candidates = (
        [p for p in reports_dir.iterdir() if (p / "run.json").is_file()]
        if reports_dir.is_dir()
        else []
    )
    if not candidates:
        raise RunFolderError(f"{reports_dir}: no complete run folder to use as 'latest'")
    return max(candidates, key=lambda p: (p.name[:16], (p / "run.json").stat().st_mtime))


def publish_gate(
    result: GateResult,
    *,
    junit: Path | None = None,
    summary: Path | None = None,
    step_summary: str | None = None,
    run_dir: Path | None = None,
) -> list[Path]:
    """Print the gate's text summary and warnings; write the requested outputs.

    ``step_summary`` is the ``$GITHUB_STEP_SUMMARY`` path (appended to);
    ``run_dir`` gets a ``gate.json`` (skipped with a warning if it is not writable).
    Returns the files written.
    """
    from dhakacart_bench.gate import render_markdown, render_text, write_junit

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
        from dhakacart_bench.runfolder import atomic_write_text

        target = run_dir / GATE_JSON
        try:
            atomic_write_text(target, json.dumps(result.to_dict(), indent=1) + "\n")
            written.append(target)
        except OSError as exc:
            click.secho(f"Warning: could not write {target}: {exc}", fg="yellow", err=True)
    for path in written:
        click.echo(f"Wrote {path}", err=True)
    return written


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
@click.option(
    "--p95-regression-pct",
    type=click.FloatRange(min=0),
    help="Allowed p95 regression in percent (default: the scenario's [gate], else 10).",
)
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    help="Endpoint the regression rule checks, e.g. 'GET /api/products' or '*' (repeatable;"
    " default: the scenario's [gate] endpoints).",
)
@click.option(
    "--min-endpoint-requests",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Fewer requests to an endpoint in either run: its regression rule has insufficient data.",
)
@click.option(
    "--insufficient-data",
    type=click.Choice(["skip", "fail"]),
    default="skip",
    show_default=True,
    help="What a regression rule with insufficient data does.",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=100),
    default=1000,
    show_default=True,
    help="Bootstrap resamples.",
)
@click.option(
    "--reports-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORTS_DIR,
    show_default=True,
    help="Where `latest` looks for run folders.",
)
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
    reports_dir: Path,
    report: bool,
) -> None:
    """May this deploy go out? Check RUN_DIR's SLOs and p95 regressions.

    RUN_DIR is a run folder, or `latest` for the newest one under --reports-dir.
    A p95 regression fails only when it exceeds the margin and the run-to-run
    noise (block bootstrap; see docs/gate.md). Exit codes: 0 pass, 1 a rule
    failed, 2 bad usage or a bad / mismatched baseline, 3 the run is not a valid
    gate input (interrupted, load generator saturated, too few requests).
    """
    from dhakacart_bench.baseline import load_baseline
    from dhakacart_bench.gate import evaluate_gate
    from dhakacart_bench.runfolder import load_run

    run = load_run(resolve_run_dir(run_dir, reports_dir))
    loaded = load_baseline(baseline) if baseline is not None else None
    result = evaluate_gate(
        run,
        baseline=loaded,
        p95_regression_pct=p95_regression_pct,
        endpoints=list(endpoints) or None,
        min_endpoint_requests=min_endpoint_requests,
        insufficient_data=insufficient_data,
        resamples=resamples,
    )
    publish_gate(
        result,
        junit=junit,
        summary=summary,
        step_summary=os.environ.get("GITHUB_STEP_SUMMARY") or None,
        run_dir=run.path,
    )
    if report:
        from dhakacart_bench.report import render_report

        click.echo(f"Report: {render_report(run, gate=result)}")
    raise SystemExit(result.exit_code)


@click.group("baseline")
def baseline_group() -> None:
    """Save the baselines `bench gate` compares against."""


@baseline_group.command("save")
@click.argument("args", nargs=-1, required=True, metavar="RUN_DIR... [PATH]")
@click.option("--force", is_flag=True, help="Save even a run that is not a valid gate input.")
@click.option(
    "--reports-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORTS_DIR,
    show_default=True,
    help="Where `latest` looks for run folders.",
)
def baseline_save(args: Sequence[str], force: bool, reports_dir: Path) -> None:
    """Save RUN_DIR (or `latest`) as the baseline at PATH (default reports/baseline.json).

    PATH is the last argument when it ends in `.json`. Give several run folders of
    the same scenario to pool them: the gate then also measures how much whole
    runs differ (the between-run noise of a busy CI host), not only the noise
    within one run. Do this deliberately, from runs of the build you accept as the
    new normal; commit the file (or keep it as a CI artifact).
    """
    from dhakacart_bench.baseline import DEFAULT_BASELINE_PATH, save_baseline
    from dhakacart_bench.runfolder import load_run

    names = list(args)
    path = DEFAULT_BASELINE_PATH
    if names[-1].endswith(".json") and not Path(names[-1]).is_dir():
        path = Path(names.pop())
    if not names:
        raise click.UsageError("give at least one RUN_DIR")
    runs = [load_run(resolve_run_dir(name, reports_dir)) for name in names]
    written = save_baseline(runs, path, force=force)
    size_kb = written.stat().st_size / 1024
    which = runs[0].run_id if len(runs) == 1 else f"{len(runs)} runs"
    click.echo(f"Saved baseline of {runs[0].scenario_name} ({which}) to {written}")
    click.echo(f"({size_kb:,.0f} KB; commit it, or keep it as a CI artifact)")


COMMANDS: list[click.Command] = [gate_command, baseline_group]
"""The commands to add to ``bench`` (``cli/commands.py``)."""
