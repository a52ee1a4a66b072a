"""``bench list`` and ``bench validate``: the scenarios ``bench run`` can find, and checking files.

Both are thin: :func:`~dhakacart_bench.scenario.scan_scenarios` and
:func:`~dhakacart_bench.scenario.load_scenario` do the work; these commands print.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from dhakacart_bench.durations import format_duration
from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.scenario import ScenarioEntry, load_scenario, scan_scenarios

_HEADERS = ("NAME", "MODEL", "DURATION", "USERS", "SOURCE", "DESCRIPTION")


def _row(entry: ScenarioEntry) -> tuple[str, ...]:
    scenario = entry.scenario
    if scenario is None:
        return (entry.name, "INVALID", "-", "-", entry.source, entry.error or "")
    load = scenario.load
    users = f"{load.default_users:,}"
    if load.reference_users != load.default_users:
        users += f" / {load.reference_users:,}"
    description = scenario.description.splitlines()[0] if scenario.description else ""
    return (
        scenario.name,
        load.model,
        format_duration(load.duration_s),
        users,
        entry.source,
        description,
    )


def format_table(entries: Sequence[ScenarioEntry]) -> str:
    """The ``bench list`` table: one row per scenario file, columns padded to fit."""
    rows = [_HEADERS, *(_row(entry) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


@click.command("list")
def list_command() -> None:
    """List the scenarios: ./scenarios first, then the bundled ones.

    USERS is the default size of `bench run` and, when different, the size
    the scenario is written for (`--users` scales between them). A broken
    file is listed as INVALID with the reason.
    """
    entries = scan_scenarios()
    if not entries:
        click.echo("No scenarios found (looked in ./scenarios and the bundled scenarios).")
        return
    click.echo(format_table(entries))


@click.command("validate")
@click.argument("scenarios", nargs=-1, metavar="[FILE_OR_NAME]...")
def validate_command(scenarios: tuple[str, ...]) -> None:
    """Check scenario files (paths or names); with none, check every scenario `bench list` shows.

    Prints "ok: NAME (summary)" per valid scenario and the reason for each
    invalid one; exits with status 2 if any is invalid.
    """
    targets: list[str] = list(scenarios) or [str(e.path) for e in scan_scenarios(parse=False)]
    if not targets:
        raise ScenarioError("no scenarios to validate (none in ./scenarios or bundled)")
    failures = 0
    for target in targets:
        try:
            scenario = load_scenario(target)
        except ScenarioError as exc:
            failures += 1
            click.echo(f"invalid: {exc}", err=True)
        else:
            click.echo(f"ok: {scenario.name} ({scenario.summary()})")
    if failures:
        raise ScenarioError(f"{failures} of {len(targets)} scenario(s) invalid")


COMMANDS: tuple[click.Command, ...] = (list_command, validate_command)
"""The commands of this module, for ``bench``'s group to ``add_command``."""
