"""Group."""

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
