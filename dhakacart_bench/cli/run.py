"""``bench run``: run a scenario, write a run folder and a report, exit with the verdict.

:func:`execute` is shared with ``bench master``: load the scenario, run it through
:func:`~dhakacart_bench.measure.run.run_scenario`, conclude (verdict, report, gate if
asked), print the summary, exit with the verdict's — or the gate's — code. The measuring
stage imports locust, so it is imported inside :func:`execute` only.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dhakacart_bench.cli.ab import ab_options, execute_ab, split_ab
from dhakacart_bench.cli.locust_flags import choose_scenario
from dhakacart_bench.cli.options import run_options, setting_option
from dhakacart_bench.cli.progress import ProgressPrinter
from dhakacart_bench.errors import UsageError
from dhakacart_bench.outcome import conclude
from dhakacart_bench.report.terminal import run_summary


def execute(options: dict[str, Any], **config: Any) -> None:
    """Run what the shared options (and ``config``, RunConfig fields) say; exit with the verdict.

    Loads the scenario, runs it, concludes (verdict, report, gate if asked),
    prints the summary and exits with the verdict's — or the gate's — code.
    """
    # The runner imports locust, which must patch gevent before ssl is imported.
    from dhakacart_bench.measure.config import RunConfig
    from dhakacart_bench.measure.run import run_scenario
    from dhakacart_bench.measure.targets import resolve_target

    options = dict(options)
    ab = split_ab(options)
    chosen = choose_scenario(options)
    if ab.get("against"):
        execute_ab(options, ab, chosen.scenario)  # the paired A/B gate: cli/ab.py
        return
    report = options.pop("report")
    quiet, progress_every = options.pop("quiet"), options.pop("progress_every_s")
    baseline, gate = options.pop("baseline"), options.pop("gate")
    junit, summary = options.pop("junit"), options.pop("summary")
    config.update(options)  # the rest are RunConfig fields, named alike
    if (junit or summary) and not gate:
        raise UsageError("--junit and --summary go with --gate")
    gate_baseline = None
    if baseline is not None and not baseline.exists():
        if not gate:
            raise UsageError(f"--baseline {baseline}: no such file or run folder")
        # the first gated run of a project: nothing to compare with yet, said out loud
        click.secho(
            f"Warning: no baseline at {baseline} yet: the p95 regression rule is skipped."
            f" Save one from a good run: bench baseline save RUN_DIR {baseline}",
            fg="yellow",
            err=True,
        )
        baseline = None
    if gate and baseline is not None:
        from dhakacart_bench.gate.baseline import load_baseline

        gate_baseline = load_baseline(baseline)  # a bad baseline stops us before the run
    loaded = chosen.scenario
    config.update(host=chosen.host, host_source=chosen.host_source, users=chosen.users)
    ctx = click.get_current_context(silent=True)
    default_stop = ctx is None or ctx.get_parameter_source("stop_timeout_s") in (
        click.core.ParameterSource.DEFAULT,
        None,
    )
    if chosen.stop_timeout_s is not None and default_stop:
        config["stop_timeout_s"] = chosen.stop_timeout_s  # Locust's -s from its config
    run_config = RunConfig(scenario=loaded, **config)
    click.echo(resolve_target(chosen.host, loaded, source=chosen.host_source).line, err=True)
    for note in chosen.notes:
        click.echo(note, err=True)
    printer = None
    if not quiet:
        printer = ProgressPrinter(interactive=sys.stderr.isatty(), log_every_s=progress_every)
    click.echo(f"Running {loaded.name}: {loaded.description}", err=True)
    try:
        result = run_scenario(run_config, progress=printer)
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
        from dhakacart_bench.cli.gate import publish_gate

        click.echo("")
        publish_gate(
            outcome.gate,
            junit=junit,
            summary=summary,
            run_dir=result.run_dir,
        )
    sys.exit(outcome.exit_code)


@click.command("run")
@run_options
@setting_option("workers")
@ab_options
def run(**options: Any) -> None:
    """Run SCENARIO (a name from `bench list`, or a path to a .toml file), or a plain
    locustfile: `bench run -f locustfile.py [UserClass ...] -u 100 -r 10 -t 5m -H URL`
    (Locust's flags and defaults; a LoadTestShape in it drives the load).

    Without --host the bundled reference store is started on a free port,
    seeded, checked for oversold stock afterwards and stopped. Exit codes: 0
    every SLO held, 1 an SLO or invariant failed, 2 bad usage or scenario,
    3 the run could not be carried out or is not valid (interrupted,
    target unreachable, load generator saturated).

    With --against BASELINE the same users drive --host (the candidate) and
    BASELINE at the same time, and --gate decides from the paired comparison
    (docs/gate.md, "The paired A/B gate").
    """
    execute(options)
