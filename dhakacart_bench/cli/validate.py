"""``bench validate``: check scenario files; every error names the file, the key and what
was expected.
"""

from __future__ import annotations

import click

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.scenario.lookup import load_scenario, scan_scenarios


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
