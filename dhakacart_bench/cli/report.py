"""``bench report``: (re)render a run folder's self-contained ``report.html``."""

from __future__ import annotations

from pathlib import Path

import click

from dhakacart_bench.errors import UsageError
from dhakacart_bench.report.render import render_report
from dhakacart_bench.runfolder.ab import is_ab_folder
from dhakacart_bench.runfolder.reader import load_run

_RUN_DIR = click.Path(path_type=Path)


@click.command("report")
@click.argument("run_dir", type=_RUN_DIR)
@click.option(
    "--baseline",
    "baseline_dir",
    type=_RUN_DIR,
    default=None,
    help="Another run folder to compare with (the biggest changes go on page one).",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=_RUN_DIR,
    default=None,
    help="Where to write the HTML file (default: RUN_DIR/report.html).",
)
def report(run_dir: Path, baseline_dir: Path | None, output: Path | None) -> None:
    """Render RUN_DIR as one self-contained HTML report and print its path.

    An A/B run folder gets the A/B report (both arms side by side, the gate's looks).
    """
    if is_ab_folder(run_dir):
        if baseline_dir is not None:
            raise UsageError("an A/B run folder carries its own baseline arm: leave out --baseline")
        from dhakacart_bench.gate.ab_judge import judge_ab_run
        from dhakacart_bench.report.ab import render_ab_report

        click.echo(str(render_ab_report(run_dir, judge_ab_run(run_dir), out=output)))
        return
    run = load_run(run_dir)
    baseline = load_run(baseline_dir) if baseline_dir else None
    click.echo(str(render_report(run, baseline=baseline, out=output)))
