"""``bench plan``: what N shoppers need, from a capacity result or a measured run folder.

From a ``bench capacity`` folder: instances from the measured sustainable load, with
its interval; with ``--instances N``, whether N such instances answer "ready for the
sale?" with yes (exit 1 when they do not cover it). From a run folder: the run's
figures; when that run never reached a limit, no instance count (capacity is measured,
never extrapolated).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dhakacart_bench.analysis.plan import make_plan
from dhakacart_bench.analysis.plan_capacity import plan_from_capacity
from dhakacart_bench.analysis.readiness import readiness
from dhakacart_bench.cli.report import _RUN_DIR
from dhakacart_bench.errors import EXIT_FAILED, UsageError
from dhakacart_bench.runfolder.capacity import is_capacity_folder, load_capacity
from dhakacart_bench.runfolder.reader import load_run


@click.command("plan")
@click.argument("run_dir", type=_RUN_DIR)
@click.option(
    "--users",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent shoppers to plan for, e.g. 100000 (from a capacity folder: default "
    "the size its scenario is written for).",
)
@click.option(
    "--instances",
    type=click.IntRange(min=1),
    default=None,
    help="Store instances planned for the sale (capacity folder only): answers 'ready for "
    "the sale?' from the measured limit x N; exit 1 when they do not cover it.",
)
def plan(run_dir: Path, users: int | None, instances: int | None) -> None:
    """Estimate store instances and load generators for N shoppers.

    RUN_DIR is a `bench capacity` folder (instances from the measured limit, with
    its interval) or a run folder (no instance count unless that run reached a limit).
    """
    if not is_capacity_folder(run_dir):
        if instances is not None:
            raise UsageError(
                "--instances needs a `bench capacity` folder: a run folder measures no limit "
                "per instance to multiply"
            )
        if users is None:
            raise UsageError("--users is required for a run folder (e.g. --users 100000)")
        for line in make_plan(load_run(run_dir), users=users).lines():
            click.echo(line)
        return
    meta = load_capacity(run_dir)
    planned = users or meta.reference_users
    if planned is None:
        raise UsageError(
            "this capacity result does not record the size its scenario is written for: "
            "pass --users"
        )
    for line in plan_from_capacity(meta, users=planned).lines():
        click.echo(line)
    if instances is None:
        return
    answer = readiness(meta, instances=instances, users=users)
    for line in answer.lines():
        click.echo(line)
    if not answer.ready:
        sys.exit(EXIT_FAILED)
