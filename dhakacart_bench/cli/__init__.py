"""The ``bench`` command line: a thin click layer over the core.

Each command lives in its own module and is wired here with ``add_command``.
Commands parse options, build plain config objects, call the core and print;
:class:`~dhakacart_bench.errors.BenchError` becomes a one-line message and the
exit code from DESIGN.md. Nothing heavy (locust, matplotlib, pandas) is
imported at start-up, so ``bench --help`` is instant.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dhakacart_bench import __version__
from dhakacart_bench.errors import BenchError


class BenchGroup(click.Group):
    """A click group that turns BenchError into a clear message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bench")
def main() -> None:
    """dhakacart-bench: load and reliability tests with exact metrics.

    Run a scenario against the bundled reference store (or any --host),
    get a run folder with exact HDR percentiles and an HTML report.
    """


def _register() -> None:
    from dhakacart_bench.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
