"""``bench baseline save``: keep what a good run looked like, for `bench gate` to compare with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from dhakacart_bench.cli.options import setting_option
from dhakacart_bench.gate.baseline import DEFAULT_BASELINE_PATH, save_baseline
from dhakacart_bench.runfolder.reader import load_run, resolve_run_dir


@click.group("baseline")
def baseline_group() -> None:
    """Save the baselines `bench gate` compares against."""


@baseline_group.command("save")
@click.argument("args", nargs=-1, required=True, metavar="RUN_DIR... [PATH]")
@click.option("--force", is_flag=True, help="Save even a run that is not a valid gate input.")
@setting_option("reports_dir")
def baseline_save(args: Sequence[str], force: bool, reports_dir: Path) -> None:
    """Save RUN_DIR (or `latest`) as the baseline at PATH (default reports/baseline.json).

    PATH is the last argument when it ends in `.json`. Give several run folders of
    the same scenario to pool them: the gate then also measures how much whole
    runs differ (the between-run noise of a busy CI host), not only the noise
    within one run. Do this deliberately, from runs of the build you accept as the
    new normal; commit the file (or keep it as a CI artifact).
    """
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
