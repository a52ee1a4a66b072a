"""``bench run SCENARIO --host CANDIDATE --against BASELINE [--gate]``: the paired A/B gate.

Thin: parses the A/B options, builds the rules (:class:`~dhakacart_bench.gate.ab_judge.ABRules`)
and the run's :class:`~dhakacart_bench.measure.ab.ABConfig`, runs it with the live looker,
re-judges the folder offline (what ``bench gate`` on it would say), renders the A/B
report, prints and exits with the gate's code (with ``--gate``) or 0.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dhakacart_bench.cli.options import Decorator, setting_option
from dhakacart_bench.errors import UsageError
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.scenario.model import CandidateSpec

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Scenario

BUNDLED = "bundled"


def ab_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options an A/B run adds to ``bench run`` (all ignored without --against)."""
    options: list[Decorator] = [
        click.option(
            "--against",
            help="A/B run: the BASELINE's URL (or 'bundled' for a second bundled store),"
            " loaded at the same time as --host (the candidate; default: a bundled store).",
        ),
        click.option(
            "--candidate-faults",
            help="A/B run, bundled candidate: its fault knobs as JSON, e.g."
            ' \'{"latency_ms": {"*": 0.5}}\' (docs/store.md).',
        ),
        click.option(
            "--candidate-store-workers",
            type=click.IntRange(min=1),
            help="A/B run, bundled candidate: its gunicorn workers.",
        ),
        click.option(
            "--endpoint",
            "endpoints",
            multiple=True,
            help="A/B run: an endpoint the gate judges, e.g. 'GET /api/products' or '*'"
            " (repeatable; default: the scenario's [gate] endpoints).",
        ),
        click.option("--ab-seed", type=int, help="A/B run: seed of the users' arm assignment."),
        setting_option("p95_regression_pct"),
        setting_option("max_duration_s"),
        setting_option("ab_min_s"),
        setting_option("ab_warmup_s"),
        setting_option("ab_min_requests"),
        setting_option("ab_look_every_s"),
        setting_option("ab_alpha"),
        setting_option("ab_spending"),
        setting_option("ab_error_margin_pct"),
        setting_option("ab_instance_spread_pct"),
        setting_option("ab_reconnect_every"),
        setting_option("ab_resamples"),
        setting_option("min_endpoint_requests"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


AB_KEYS = (
    "against",
    "candidate_faults",
    "candidate_store_workers",
    "endpoints",
    "ab_seed",
    "p95_regression_pct",
    "max_duration_s",
    "ab_min_s",
    "ab_warmup_s",
    "ab_min_requests",
    "ab_look_every_s",
    "ab_alpha",
    "ab_spending",
    "ab_error_margin_pct",
    "ab_instance_spread_pct",
    "ab_reconnect_every",
    "ab_resamples",
    "min_endpoint_requests",
)


def split_ab(options: dict[str, Any]) -> dict[str, Any]:
    """Remove the A/B options from ``options``; return them."""
    return {key: options.pop(key) for key in AB_KEYS if key in options}


def _faults(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--candidate-faults is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(
            '--candidate-faults must be a JSON object, e.g. \'{"latency_ms": {"*": 1}}\''
        )
    return value


def candidate_changes(
    ab: dict[str, Any], written: CandidateSpec | None
) -> tuple[dict[str, Any] | None, int | None]:
    """The bundled candidate's fault knobs and gunicorn workers: the flags, else the
    scenario's ``[candidate]``."""
    written = written or CandidateSpec()
    faults = _faults(ab.get("candidate_faults")) or (
        None if written.faults is None else dict(written.faults)
    )
    return faults, ab.get("candidate_store_workers") or written.store_workers


def execute_ab(options: dict[str, Any], ab: dict[str, Any], loaded: Scenario) -> None:
    """Run an A/B comparison from the parsed options; exit with the gate's code."""
    from dhakacart_bench.cli.gate import publish_gate
    from dhakacart_bench.cli.progress import ProgressPrinter
    from dhakacart_bench.gate.ab_judge import ABRules, LiveLooker, judge_ab_run
    from dhakacart_bench.measure.ab import ABConfig, run_ab
    from dhakacart_bench.measure.config import RunConfig
    from dhakacart_bench.report.ab import render_ab_report
    from dhakacart_bench.stats.sequential import DEFAULT_HSD_GAMMA, LookPlan

    options = dict(options)
    render = options.pop("report")
    quiet, progress_every = options.pop("quiet"), options.pop("progress_every_s")
    baseline, gate = options.pop("baseline"), options.pop("gate")
    junit, summary = options.pop("junit"), options.pop("summary")
    if baseline is not None:
        raise UsageError("--against compares with a baseline running now: leave out --baseline")
    if options.get("deploy_command"):
        raise UsageError("--deploy-cmd does not go with --against")
    if (junit or summary) and not gate:
        raise UsageError("--junit and --summary go with --gate")
    host = options.pop("host")
    faults, store_workers = candidate_changes(ab, loaded.candidate)
    if (faults or store_workers) and host not in (None, BUNDLED):
        raise UsageError(
            "--candidate-faults / --candidate-store-workers (or the scenario's [candidate])"
            " need a bundled candidate"
        )
    run_config = RunConfig(scenario=loaded, host=None, **options)
    pct = ab["p95_regression_pct"]
    margin = float(loaded.gate.p95_regression_pct if pct is None else pct)
    endpoints = tuple(dict.fromkeys(ab["endpoints"] or loaded.gate.endpoints or (TOTAL,)))
    length = (
        run_config.duration_s
        or loaded.scaled(run_config.users or loaded.load.default_users).load.duration_s
    )
    budget = ab["max_duration_s"]
    if budget is not None and budget > length:
        # a budget longer than the load: hold the load at its last level until the budget
        if run_config.duration_s is not None:
            raise UsageError(
                f"--max-duration ({budget:g}s) is longer than --duration ({length:g}s):"
                " leave out --duration and the load is held for the whole budget"
            )
        if loaded.shape_class is not None:
            raise UsageError(
                f"--max-duration ({budget:g}s) is longer than {loaded.shape_class}'s"
                f" {length:g}s, and a LoadTestShape sets the run's length"
            )
        run_config = dataclasses.replace(run_config, scenario=loaded.held_to(budget))
        length = budget
    max_s = min(budget or length, length)
    if ab["ab_warmup_s"] >= max_s:
        raise UsageError(
            f"--ab-warmup ({ab['ab_warmup_s']:g}s) leaves nothing to judge in a"
            f" {max_s:g}s A/B run: make it shorter than the run"
        )
    plan = LookPlan(
        min_s=ab["ab_min_s"],
        every_s=ab["ab_look_every_s"],
        max_s=max_s,
        min_requests=ab["ab_min_requests"],
        alpha=ab["ab_alpha"],
        warmup_s=ab["ab_warmup_s"],
        hsd_gamma=DEFAULT_HSD_GAMMA if ab["ab_spending"] == "hsd" else None,
    )
    spread_pct = ab["ab_instance_spread_pct"]
    reconnect = ab["ab_reconnect_every"]
    if reconnect is None:
        reconnect = loaded.gate.ab_reconnect_every
    rules = ABRules(
        plan=plan,
        endpoints=endpoints,
        margin_pct=margin,
        error_margin_pct=ab["ab_error_margin_pct"],
        min_endpoint_requests=ab["min_endpoint_requests"],
        resamples=ab["ab_resamples"],
        spread=float(loaded.gate.ab_instance_spread_pct if spread_pct is None else spread_pct)
        / 100,
    )
    config = ABConfig(
        candidate_url=None if host in (None, BUNDLED) else host,
        baseline_url=None if ab["against"] == BUNDLED else ab["against"],
        candidate_faults=faults,
        candidate_store_workers=store_workers,
        max_duration_s=max_s,
        min_s=plan.min_s,
        every_s=plan.every_s,
        seed=ab["ab_seed"],
        reconnect_every=reconnect,
        plan={
            "min_requests": plan.min_requests,
            "alpha": plan.alpha,
            "warmup_s": plan.warmup_s,
            **({} if plan.hsd_gamma is None else {"hsd_gamma": plan.hsd_gamma}),
            "resamples": rules.resamples,
            "min_endpoint_requests": rules.min_endpoint_requests,
            "instance_spread": rules.spread,
            "reconnect_every": reconnect,
        },
        gate={
            "margin_pct": margin,
            "error_margin_pct": rules.error_margin_pct,
            "endpoints": list(endpoints),
            "seed": rules.seed,
        },
    )
    printer = None
    if not quiet:
        printer = ProgressPrinter(interactive=sys.stderr.isatty(), log_every_s=progress_every)
    click.echo(f"A/B run of {loaded.name}: candidate vs baseline, same users, same time", err=True)
    try:
        result = run_ab(run_config, config, looker=LiveLooker(rules), progress=printer)
    finally:
        if printer is not None:
            printer.done()
    judged = judge_ab_run(result.run_dir)
    click.echo(ab_text(judged))
    if render:
        click.echo(f"Report:     {render_ab_report(result.run_dir, judged)}")
    if gate:
        click.echo("")
        publish_gate(
            judged.result,
            junit=junit,
            summary=summary,
            run_dir=result.run_dir,
        )
    sys.exit(judged.result.exit_code if gate else 0)


def ab_text(judged: Any) -> str:
    """Arms and where the run folder is, for the terminal."""
    meta = judged.meta
    lines = [f"A/B run folder: {Path(judged.result.run_path)}"]
    for arm, info in meta.arms.items():
        extra = f", overrides {json.dumps(info.overrides)}" if info.overrides else ""
        if info.hash_seed is not None:
            extra += f", PYTHONHASHSEED {info.hash_seed}"
        lines.append(f"  {arm:<9} {info.url} ({info.target}, {info.users} users{extra})")
    deciding = judged.deciding
    when = "budget reached" if deciding.final else "decided"
    lines.append(f"  {when} at {deciding.t_s:.0f} s after {len(judged.looks)} look(s)")
    reconnect = int(meta.plan.get("reconnect_every", 0))
    if reconnect:
        lines.append(
            f"  connections: each user reconnected after every {reconnect} requests, so each"
            " arm's split over its server's workers was drawn afresh throughout"
        )
    if judged.spread:
        lines.append(
            f"  p95 intervals: this run's noise and {judged.spread:.1%} between instances"
            " (from A/A runs)"
        )
    else:
        lines.append(
            "  p95 intervals: this run's noise only; identical instances can differ by more"
            " for a whole run (measure it: bench calibrate, docs/gate.md)"
        )
    return "\n".join(lines)
