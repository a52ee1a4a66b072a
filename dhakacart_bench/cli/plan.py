"""``bench plan``: what N shoppers need, from a measured run folder."""

from __future__ import annotations

from pathlib import Path

import click

from dhakacart_bench.analysis.plan import make_plan
from dhakacart_bench.cli.report import _RUN_DIR
from dhakacart_bench.runfolder.reader import load_run


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

    for line in make_plan(load_run(run_dir), users=users).lines():
        click.echo(line)
