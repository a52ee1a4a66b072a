"""``bench calibrate A/A-RUN...``: the A/B gate's spread between identical instances."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from dhakacart_bench.cli.options import setting_option


@click.command("calibrate")
@click.argument("run_dirs", nargs=-1, required=True, metavar="A/A-RUN_DIR...")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    help="Endpoint to measure, e.g. 'GET /api/products' or '*' (repeatable; default: the"
    " first run's gate endpoints).",
)
@setting_option("reports_dir")
def calibrate_command(run_dirs: Sequence[str], endpoints: Sequence[str], reports_dir: Path) -> None:
    """How far two identical instances differ: the A/B gate's between-instance spread.

    Each A/A-RUN_DIR is an A/B run folder whose two arms were the same build
    (`bench run SCENARIO --against bundled` with no candidate changes, or the
    current build deployed twice). Their p95 ratios should be 1; how far they stray
    beyond their own within-run noise is a difference between instances that lasts
    a whole run, which the paired interval cannot see. Prints it per endpoint and
    the `[gate] ab_instance_spread_pct` to gate with (docs/gate.md). 10-20 runs on
    the CI runner itself give a steady figure.
    """
    from dhakacart_bench.gate.ab_spread import calibrate, calibration_lines
    from dhakacart_bench.runfolder.reader import resolve_run_dir

    folders = [resolve_run_dir(d, reports_dir, ab=True) for d in run_dirs]
    for line in calibration_lines(calibrate(folders, endpoints)):
        click.echo(line)
