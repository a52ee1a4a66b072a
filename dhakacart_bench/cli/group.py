"""The ``bench`` click group: a BenchError becomes a one-line message and its exit code.

Only user mistakes and run failures (the :mod:`dhakacart_bench.errors` tree) are turned
into messages; an unexpected exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from dhakacart_bench.errors import BenchError

#: ``BENCH_DEBUG=1`` (or ``bench --debug``) prints the traceback under a BenchError too.
DEBUG_ENV = "BENCH_DEBUG"


def debug_wanted(ctx: click.Context) -> bool:
    """``--debug`` given, or ``BENCH_DEBUG`` set to anything but empty / 0."""
    if ctx.params.get("debug"):
        return True
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


class BenchGroup(click.Group):
    """A click group that turns BenchError into a clear message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchError as exc:
            if debug_wanted(ctx):
                traceback.print_exc(file=sys.stderr)
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
