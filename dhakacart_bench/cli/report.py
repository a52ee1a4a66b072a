"""``bench report``, ``bench compare`` and ``bench plan``: thin wrappers over the core.

Each command loads run folders (a bad folder raises RunFolderError: exit 2 with a
one-line message), calls :mod:`dhakacart_bench.report` or
:mod:`dhakacart_bench.planning`, and prints the result. Heavy imports happen inside the
commands, so importing this module is cheap.
"""

from __future__ import annotations

from pathlib import Path

import click

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
    """Render RUN_DIR as one self-contained HTML report and print its path."""
    from dhakacart_bench.report import render_report
    from dhakacart_bench.runfolder import load_run

    run = load_run(run_dir)
    baseline = load_run(baseline_dir) if baseline_dir else None
    click.echo(str(render_report(run, baseline=baseline, out=output)))


@click.command("compare")
@click.argument("run_a", type=_RUN_DIR)
@click.argument("run_b", type=_RUN_DIR)
@click.option(
    "-o",
    "--output",
    "output",
    type=_RUN_DIR,
    default=None,
    help="Where to write the HTML file (default: RUN_B/compare.html).",
)
def compare(run_a: Path, run_b: Path, output: Path | None) -> None:
    """Render a side-by-side report of RUN_A (baseline) and RUN_B; print its path."""
    from dhakacart_bench.report import render_compare
    from dhakacart_bench.runfolder import load_run

    click.echo(str(render_compare(load_run(run_a), load_run(run_b), out=output)))


@click.command("plan")
@click.argument("run_dir", type=_RUN_DIR)
@click.option(
    "--users",
    type=click.IntRange(min=1),
    required=True,
    help="Concurrent shoppers to plan for, e.g. 100000.",
)
def plan(run_dir: Path, users: int) -> None:
    """Estimate store instances and load generators for N shoppers from RUN_DIR."""
    from dhakacart_bench.planning import make_plan
    from dhakacart_bench.runfolder import load_run

    for line in make_plan(load_run(run_dir), users=users).lines():
        click.echo(line)


COMMANDS: list[click.Command] = [report, compare, plan]
"""The commands of this module, for ``main.add_command``."""
