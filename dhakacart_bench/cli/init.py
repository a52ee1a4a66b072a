"""``bench init --from-locustfile``: a scenario file from a locustfile and Locust's flags,
so a team that starts with ``bench run -f`` can move on to declared SLOs and gate rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dhakacart_bench.cli.locust_flags import choose_scenario
from dhakacart_bench.cli.options import DurationType
from dhakacart_bench.errors import UsageError


@click.command("init")
@click.option(
    "--from-locustfile",
    "locustfile",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The locustfile to write a scenario for.",
)
@click.argument("user_classes", nargs=-1)
@click.option("-u", "--users", type=click.IntRange(min=1), help="Users (Locust's default 1).")
@click.option(
    "-r", "--spawn-rate", type=click.FloatRange(min=0, min_open=True), help="Users started per s."
)
@click.option("-t", "--run-time", "run_time_s", type=DurationType(), help="Length, e.g. 5m.")
@click.option("-H", "--host", help="The scenario's target (default: none, the bundled store).")
@click.option("--slo", "slo_flags", multiple=True, help="An SLO, e.g. 'p95_ms<500' (repeatable).")
@click.option(
    "--config",
    "locust_config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A Locust config file to read (as locust --config).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: scenarios/NAME.toml).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_command(
    locustfile: Path, user_classes: tuple[str, ...], output: Path | None, force: bool, **flags: Any
) -> None:
    """Write a scenario TOML from a locustfile: its User classes and weights, one stage of
    -u users at -r per second for -t (or its LoadTestShape's plan), the --slo flags.

    `bench validate` accepts what it writes; add [[slo]] and [gate] rules, then
    `bench run scenarios/NAME.toml`.
    """
    from dhakacart_bench.scenario.from_locust import scenario_toml

    options: dict[str, Any] = {
        "scenario": user_classes,
        "locustfile": locustfile,
        "duration_s": None,
        **flags,
    }
    chosen = choose_scenario(options)
    out = output or Path("scenarios") / f"{chosen.scenario.name}.toml"
    if out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to overwrite it, or -o another file")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(scenario_toml(chosen.scenario, out=out, host=chosen.host), encoding="utf-8")
    for note in chosen.notes:
        click.echo(note, err=True)
    click.echo(f"wrote {out} ({chosen.scenario.summary()}); check it with `bench validate {out}`")
