"""Options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dhakacart_bench.humanize import DURATION_HELP, parse_duration


class DurationType(click.ParamType):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"expected {DURATION_HELP} greater than zero", param, ctx)
        return seconds


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `bench run` and `bench master` share (applied bottom-up)."""
    options = [
        click.argument("scenario"),
        click.option(
            "--host", help="Target base URL (default: the scenario's, else the bundled store)."
        ),
        click.option(
            "--users", type=click.IntRange(min=1), help="Peak users (default: the scenario's)."
        ),
        click.option(
            "--duration",
            type=DurationType(),
            help="Squeeze the scenario's stages into this time (e.g. 30s, 2m).",
        ),
        click.option(
            "--reports-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("reports"),
            show_default=True,
            help="Where run folders are written.",
        ),
        click.option(
            "--database-url",
            envvar="DATABASE_URL",
            help="Bundled store database (default: embedded SQLite). Env: DATABASE_URL.",
        ),
        click.option(
            "--store-workers", type=click.IntRange(min=1), help="Bundled store gunicorn workers."
        ),
        click.option(
            "--report/--no-report", default=True, show_default=True, help="Render report.html."
        ),
        click.option(
            "--deploy-cmd",
            help="Run this command (your deploy) during the load and measure what users saw.",
        ),
        click.option(
            "--deploy-at",
            type=DurationType(),
            help="When --deploy-cmd runs, after the load starts (default: a third of the way).",
        ),
        click.option(
            "--baseline",
            type=click.Path(exists=True, path_type=Path),
            help="A baseline file (bench baseline save) or run folder to compare with.",
        ),
        click.option(
            "--gate",
            is_flag=True,
            help="Exit with the CI gate's decision (SLOs + p95 regression vs --baseline).",
        ),
        click.option(
            "--junit",
            type=click.Path(dir_okay=False, path_type=Path),
            help="With --gate: JUnit XML.",
        ),
        click.option(
            "--summary",
            type=click.Path(dir_okay=False, path_type=Path),
            help="With --gate: a Markdown summary ($GITHUB_STEP_SUMMARY is appended to when set).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No live progress line."),
        click.option(
            "--progress-every",
            type=click.FloatRange(min=0.5),
            default=10.0,
            show_default=True,
            help="Seconds between progress lines when stderr is not a terminal (CI logs).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: `bench run` option name → RunConfig field, where they differ.
_CONFIG_NAMES = {
    "duration": "duration_s",
    "deploy_cmd": "deploy_command",
    "deploy_at": "deploy_at_s",
}
