"""The ``bench`` click group: a BenchError becomes a one-line message and its exit code.

Only user mistakes and run failures (the :mod:`dhakacart_bench.errors` tree) are turned
into messages; an unexpected exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dhakacart_bench.errors import BenchError


class BenchGroup(click.Group):
    """A click group that turns BenchError into a clear message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
