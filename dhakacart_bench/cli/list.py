"""``bench list``: the scenarios ``bench run`` can find (./scenarios first, then bundled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from dhakacart_bench.humanize import format_duration
from dhakacart_bench.scenario.lookup import scan_scenarios

if TYPE_CHECKING:
    from dhakacart_bench.scenario.lookup import ScenarioEntry


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
