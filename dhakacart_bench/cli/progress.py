"""The live progress printer of ``bench run``: one line rewritten in place on a terminal,
one line every few seconds in a CI log.
"""

from __future__ import annotations

import time
from typing import Any

import click

from dhakacart_bench.report.terminal import progress_line


class ProgressPrinter:
    """Live progress: a line rewritten in place on a terminal, every 10 s in a log."""

    def __init__(self, *, interactive: bool, log_every_s: float = 10.0) -> None:
        self.interactive = interactive
        self.log_every_s = log_every_s
        self._last_logged = float("-inf")
        self._width = 0

    def __call__(self, progress: Any) -> None:

        live = progress.live
        line = progress_line(
            elapsed_s=progress.elapsed_s,
            planned_s=progress.planned_s,
            users=progress.users,
            rps=live.rps,
            p95_ms=live.p95_ms,
            error_pct=live.error_pct,
            requests=live.requests,
        )
        if self.interactive:
            pad = max(0, self._width - len(line))
            self._width = len(line)
            click.echo("\r" + line + " " * pad, nl=False, err=True)
        elif time.monotonic() - self._last_logged >= self.log_every_s:
            self._last_logged = time.monotonic()
            click.echo(line, err=True)

    def done(self) -> None:
        if self.interactive and self._width:
            click.echo("", err=True)
