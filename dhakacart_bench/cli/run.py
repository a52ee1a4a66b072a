"""``bench run``: run a scenario, write a run folder and a report, exit with the verdict."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dhakacart_bench.durations import DURATION_HELP, parse_duration


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


class ProgressPrinter:
    """Live progress: a line rewritten in place on a terminal, every 10 s in a log."""

    def __init__(self, *, interactive: bool, log_every_s: float = 10.0) -> None:
        self.interactive = interactive
        self.log_every_s = log_every_s
        self._last_logged = float("-inf")
        self._width = 0

    def __call__(self, progress: Any) -> None:
        from dhakacart_bench.console import progress_line

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


def execute(options: dict[str, Any], **config: Any) -> None:
    """Run what the shared options (and ``config``, RunConfig fields) say; exit with the verdict.

    Loads the scenario, runs it, concludes (verdict, report, gate if asked),
    prints the summary and exits with the verdict's — or the gate's — code.
    """
    # The runner imports locust, which must patch gevent before ssl is imported.
    from dhakacart_bench import runner as runner_mod
    from dhakacart_bench.console import run_summary
    from dhakacart_bench.errors import UsageError
    from dhakacart_bench.outcome import conclude
    from dhakacart_bench.scenario import load_scenario

    options = dict(options)
    scenario, report = options.pop("scenario"), options.pop("report")
    quiet, progress_every = options.pop("quiet"), options.pop("progress_every")
    baseline, gate = options.pop("baseline"), options.pop("gate")
    junit, summary = options.pop("junit"), options.pop("summary")
    config.update({_CONFIG_NAMES.get(name, name): value for name, value in options.items()})
    if (junit or summary) and not gate:
        raise UsageError("--junit and --summary go with --gate")
    gate_baseline = None
    if gate and baseline is not None:
        from dhakacart_bench.baseline import load_baseline

        gate_baseline = load_baseline(baseline)  # a bad baseline stops us before the run
    loaded = load_scenario(scenario)
    run_config = runner_mod.RunConfig(scenario=loaded, **config)
    printer = None
    if not quiet:
        printer = ProgressPrinter(interactive=sys.stderr.isatty(), log_every_s=progress_every)
    click.echo(f"Running {loaded.name}: {loaded.description}", err=True)
    try:
        result = runner_mod.run_scenario(run_config, progress=printer)
    finally:
        if printer is not None:
            printer.done()
    outcome = conclude(
        result.run_dir, render=report, baseline=baseline, gate=gate, gate_baseline=gate_baseline
    )
    click.echo(run_summary(result.meta, result.summary))
    click.echo("")
    click.echo(outcome.describe())
    if outcome.gate is not None:
        import os

        from dhakacart_bench.cli.gate import publish_gate

        click.echo("")
        publish_gate(
            outcome.gate,
            junit=junit,
            summary=summary,
            step_summary=os.environ.get("GITHUB_STEP_SUMMARY") or None,
            run_dir=result.run_dir,
        )
    sys.exit(outcome.exit_code)


@click.command("run")
@run_options
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Spread the load over N local worker processes (Locust master/worker).",
)
def run(**options: Any) -> None:
    """Run SCENARIO (a name from `bench list`, or a path to a .toml file).

    Without --host the bundled reference store is started on a free port,
    seeded, checked for oversold stock afterwards and stopped. Exit codes: 0
    every SLO held, 1 an SLO or invariant failed, 2 bad usage or scenario,
    3 the run could not be carried out or is not valid (interrupted,
    target unreachable, load generator saturated).
    """
    execute(options)
