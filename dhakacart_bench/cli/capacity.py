"""``bench capacity``: search for the highest load at which every SLO holds.

Thin: parse, build the search plan and the drive's config, hand the measuring stage the
analysis stage's decisions (:func:`~dhakacart_bench.analysis.capacity_search.next_level`,
:func:`~dhakacart_bench.analysis.capacity_level.judge_folder`), then write
``capacity.json`` and ``capacity.html``, print the answer and exit: 0 found, 1 not even
the lowest level held, 2 bad usage, 3 the search could not be carried out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from dhakacart_bench.analysis.capacity_level import judge_folder
from dhakacart_bench.analysis.capacity_result import capacity_exit_code, knee_words, summarise
from dhakacart_bench.analysis.capacity_search import SearchPlan, bracket, next_level
from dhakacart_bench.cli.options import setting_option
from dhakacart_bench.humanize import fmt_ms, fmt_rps
from dhakacart_bench.runfolder.capacity import write_capacity_json
from dhakacart_bench.scenario.lookup import load_scenario

_SEARCH = (
    "budget_s",
    "resolution",
    "start_rate",
    "step_factor",
    "level_warmup_s",
    "level_min_s",
    "level_min_requests",
    "max_pool",
)
_RUN = (
    "reports_dir",
    "database_url",
    "store_workers",
    "workers",
    "stop_timeout_s",
    "worker_timeout_s",
)


def progress_text(p: Any) -> str:
    """One live line: the level being tried, the bracket so far, the level's figures."""
    lo, hi = p.bracket
    if lo is None and hi is None:
        where = "no bracket yet"
    else:
        where = f"bracket {fmt_rps(lo) if lo else '—'}-{fmt_rps(hi) if hi else '?'} arrivals/s"
    live = p.level.live
    return (
        f"level {p.index} ({p.purpose}) {fmt_rps(p.rate)} arrivals/s, {p.pool:,} users · "
        f"{where} · {live.rps:,.0f} req/s p95 {fmt_ms(live.p95_ms)} "
        f"err {live.error_pct:.2g}% · {p.elapsed_s:.0f}/{p.budget_s:.0f} s"
    )


class _Printer:
    def __init__(self, *, interactive: bool, every_s: float) -> None:
        self.interactive, self.every_s = interactive, every_s
        self._last, self._width = float("-inf"), 0

    def __call__(self, p: Any) -> None:
        line = progress_text(p)
        if self.interactive:
            click.echo("\r" + line.ljust(self._width), nl=False, err=True)
            self._width = len(line)
        elif time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            click.echo(line, err=True)

    def done(self) -> None:
        if self.interactive and self._width:
            click.echo("", err=True)


def _options(command: Any) -> Any:
    decorators: list[Callable[[Any], Any]] = [
        click.argument("scenario"),
        click.option(
            "--host", help="Target base URL (default: the scenario's, else the bundled store)."
        ),
        click.option(
            "--arrival",
            type=click.Choice(["poisson", "uniform"]),
            help="How arrivals are spaced (default: the scenario's [load] arrival, else poisson).",
        ),
        *(setting_option(name) for name in _SEARCH + _RUN),
        click.option(
            "--report/--no-report", default=True, show_default=True, help="Render capacity.html."
        ),
        click.option("-q", "--quiet", is_flag=True, help="No live progress line."),
        setting_option("progress_every_s"),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@click.command("capacity")
@_options
def capacity(**options: Any) -> None:
    """Find the highest load SCENARIO's target sustains with every SLO held.

    Drives the scenario's users in the open model (arrivals per second), steps the
    rate up geometrically until a level breaks an SLO, bisects to --resolution and
    repeats the boundary levels. Writes a folder with capacity.json, capacity.html
    and one run folder per level. Exit codes: 0 found, 1 not even the lowest level
    held, 2 bad usage, 3 could not be carried out (generator saturated, no level
    broke within the budget, interrupted, target unreachable).
    """
    from dhakacart_bench.measure.capacity import CapacityConfig, drive_capacity
    from dhakacart_bench.measure.config import RunConfig

    scenario = load_scenario(options["scenario"])
    plan = SearchPlan(
        start_rate=options["start_rate"],
        step_factor=options["step_factor"],
        resolution=options["resolution"],
        level_min_s=options["level_min_s"],
        level_min_requests=options["level_min_requests"],
        level_warmup_s=options["level_warmup_s"],
        max_pool=options["max_pool"],
    )
    run_config = RunConfig(
        scenario=scenario, host=options["host"], **{name: options[name] for name in _RUN}
    )
    config = CapacityConfig(
        scenario=scenario,
        run=run_config,
        budget_s=options["budget_s"],
        warmup_s=plan.level_warmup_s,
        arrival=options["arrival"],
    )
    printer = None
    if not options["quiet"]:
        printer = _Printer(interactive=sys.stderr.isatty(), every_s=options["progress_every_s"])
    click.echo(f"Capacity search: {scenario.name} ({scenario.description})", err=True)
    try:
        drive = drive_capacity(
            config,
            decide=lambda levels: next_level(plan, levels),
            judge=judge_folder,
            bracket=lambda levels: bracket(levels, plan),
            progress=printer,
        )
    finally:
        if printer is not None:
            printer.done()
    meta = summarise(
        drive.levels,
        plan=plan,
        scenario_name=scenario.name,
        started_at=drive.started_at,
        host=drive.host,
        target=drive.target,
        shares_machine=drive.shares_machine,
        status=drive.status,
        stop_reason=drive.reason,
        store=drive.store,
        arrival=drive.arrival,
        generator_processes=drive.generator_processes,
        think_s=drive.think_s,
        budget_s=config.budget_s,
        elapsed_s=drive.elapsed_s,
        reference_users=scenario.load.reference_users,
    )
    write_capacity_json(drive.folder, meta)
    if options["report"]:
        from dhakacart_bench.report.capacity import render_capacity

        click.echo(f"Report: {render_capacity(drive.folder, meta)}", err=True)
    for line in knee_words(meta):
        click.echo(line)
    click.echo(f"Capacity folder: {drive.folder}")
    sys.exit(capacity_exit_code(meta))
