"""``bench compare``: a side-by-side HTML report of two run folders, B judged against A."""

from __future__ import annotations

from pathlib import Path

import click

from dhakacart_bench.cli.report import _RUN_DIR
from dhakacart_bench.report.render import render_compare
from dhakacart_bench.runfolder.reader import load_run


@click.command("compare")
@click.argument("run_a", type=_RUN_DIR)
@click.argument("run_b", type=_RUN_DIR)
@click.option(
    "-o",
    "--output",
    "output",
    type=_RUN_DIR,
    default=None,
    help="Where to write the HTML file, or a folder to write it into (default:"
    " compare-<A>-vs-<B>.html beside RUN_B; never inside a run folder).",
)
def compare(run_a: Path, run_b: Path, output: Path | None) -> None:
    """Render a side-by-side report of RUN_A (baseline) and RUN_B; print its path.

    A change is called worse or better only when its interval excludes no change
    (the gate's block bootstrap); small samples say "too few requests".
    """

    click.echo(str(render_compare(load_run(run_a), load_run(run_b), out=output)))
