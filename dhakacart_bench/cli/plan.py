"""``bench plan``: what N shoppers need, from a capacity result or a measured run folder.

From a ``bench capacity`` folder: instances from the measured sustainable load, with
its interval. From a run folder: the run's figures; when that run never reached a
limit, no instance count (capacity is measured, never extrapolated).
"""

from __future__ import annotations

from pathlib import Path

import click

from dhakacart_bench.analysis.plan import make_plan
from dhakacart_bench.analysis.plan_capacity import plan_from_capacity
from dhakacart_bench.cli.report import _RUN_DIR
from dhakacart_bench.runfolder.capacity import is_capacity_folder, load_capacity
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
    """Estimate store instances and load generators for N shoppers.

    RUN_DIR is a `bench capacity` folder (instances from the measured limit, with
    its interval) or a run folder (no instance count unless that run reached a limit).
    """
    if is_capacity_folder(run_dir):
        lines = plan_from_capacity(load_capacity(run_dir), users=users).lines()
    else:
        lines = make_plan(load_run(run_dir), users=users).lines()
    for line in lines:
        click.echo(line)
