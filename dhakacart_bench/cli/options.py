"""Click options generated from the settings table, and the options `run` and `master` share.

:func:`setting_option` turns one :class:`~dhakacart_bench.settings.Setting` into a click
option: its flag, type, default, environment variable and help all come from the table,
so ``--help``, the README's reference and the core's defaults say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dhakacart_bench.humanize import DURATION_HELP, parse_duration
from dhakacart_bench.settings import Setting, setting

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class DurationType(click.ParamType):
    """A duration flag: ``90s``, ``2m``, ``1h30m`` or seconds; more than zero."""

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


class PercentType(click.ParamType):
    """A fraction flag: ``5%`` or ``0.05``; more than zero, below one."""

    name = "percent"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"expected a percentage such as 5% (or 0.05), got {value!r}", param, ctx)
        if not 0 < fraction < 1:
            self.fail(f"expected a percentage between 0% and 100%, got {value!r}", param, ctx)
        return fraction


class WorkersType(click.ParamType):
    """``--workers``: a count (0 = one process) or ``auto`` (sized for this machine)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from dhakacart_bench.measure.limits import AUTO_WORKERS

        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return AUTO_WORKERS
        try:
            count = int(text)
        except ValueError:
            self.fail(f"expected a number of worker processes or 'auto', got {value!r}", param, ctx)
        if count < 0:
            self.fail(f"expected 0 or more worker processes, got {count}", param, ctx)
        return count


def _click_type(s: Setting) -> Any:
    if s.kind == "path":
        return click.Path(file_okay=False, path_type=Path)
    if s.kind == "int":
        return click.IntRange(min=None if s.minimum is None else int(s.minimum))
    if s.kind == "workers":
        return WorkersType()
    if s.kind == "float":
        return click.FloatRange(min=s.minimum)
    if s.kind == "duration":
        return DurationType()
    if s.kind == "percent":
        return PercentType()
    if s.kind == "choice":
        return click.Choice(list(s.choices))
    return str


def setting_option(name: str, *extra_flags: str) -> Decorator:
    """The click option of setting ``name`` (its value arrives under ``name``)."""
    s = setting(name)
    return click.option(
        s.flag,
        *extra_flags,
        s.name,
        type=None if s.kind == "flag" else _click_type(s),
        is_flag=s.kind == "flag",
        default=s.default,
        show_default=s.default is not None,
        envvar=s.env,
        show_envvar=True,
        help=s.help,
    )


def check_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--host`` checked as the scenario's ``host`` key is (http/https only): exit 2."""
    from dhakacart_bench.scenario.parse import host_problem

    if not value:
        return value
    problem = host_problem(value)
    if problem is not None:
        raise click.BadParameter(f"{problem}, got {value!r}")
    return value.rstrip("/")


def locust_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-f``, ``-r``, ``-t``, ``--config`` and ``--slo`` (``-u``/``-H`` ride on --users/--host)."""
    options = [
        click.option(
            "-f",
            "--locustfile",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Run a plain locustfile, no scenario file needed (positional args: its"
            " User classes, default all; Locust's locust.conf / [tool.locust] are read).",
        ),
        click.option(
            "-r",
            "--spawn-rate",
            type=click.FloatRange(min=0, min_open=True),
            help="With -f: users started per second (Locust's default 1).",
        ),
        click.option(
            "-t",
            "--run-time",
            "run_time_s",
            type=DurationType(),
            help="With -f: stop after this long (e.g. 10s, 5m); needed unless the"
            " locustfile has a LoadTestShape.",
        ),
        click.option(
            "--config",
            "locust_config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="With -f: a Locust config file to read (as locust --config).",
        ),
        click.option(
            "--slo",
            "slo_flags",
            multiple=True,
            help="An SLO to hold, e.g. 'p95_ms<500', 'error_rate<0.01', 'rps>100',"
            " 'p99_ms[GET /api/cart]<800' (repeatable; added to the scenario's).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `bench run` and `bench master` share (applied bottom-up)."""
    options: list[Decorator] = [
        click.argument("scenario", nargs=-1),
        click.option(
            "-H",
            "--host",
            callback=check_host,
            help="Target base URL (default: the scenario's, else the user classes' host,"
            " else the bundled store).",
        ),
        click.option(
            "--target-pid",
            "target_pids",
            type=click.IntRange(min=1),
            multiple=True,
            help="A process of the target on this machine (with its children) that is not"
            " the one listening on --host's port, e.g. a container runtime: its CPU is the"
            " target's, not a noisy neighbour's (repeatable).",
        ),
        click.option(
            "-u",
            "--users",
            type=click.IntRange(min=1),
            help="Peak users (default: the scenario's; with -f Locust's default 1).",
        ),
        click.option(
            "--duration",
            "duration_s",
            type=DurationType(),
            help="Squeeze the scenario's stages into this time (e.g. 30s, 2m).",
        ),
        locust_options,
        setting_option("reports_dir"),
        setting_option("database_url"),
        setting_option("store_workers"),
        setting_option("stop_timeout_s"),
        setting_option("worker_timeout_s"),
        setting_option("heartbeat_liveness"),
        setting_option("busy_cores"),
        click.option(
            "--report/--no-report", default=True, show_default=True, help="Render report.html."
        ),
        click.option(
            "--deploy-cmd",
            "deploy_command",
            help="Run this command (your deploy) during the load and measure what users saw.",
        ),
        click.option(
            "--deploy-at",
            "deploy_at_s",
            type=DurationType(),
            help="When --deploy-cmd runs, after the load starts (default: a third of the way).",
        ),
        click.option(
            "--baseline",
            type=click.Path(path_type=Path),
            help="A baseline file (bench baseline save) or run folder to compare with. With"
            " --gate, a baseline file not saved yet skips the regression rule (first run).",
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
        setting_option("progress_every_s"),
    ]
    for option in reversed(options):
        command = option(command)
    return command
