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

    Each scenario's locustfile is imported in a child process (so a locustfile that
    fails to import is caught here, not at run time). Prints "ok: NAME (summary)" per
    valid scenario and the reason for each invalid one; exits with status 2 if any is
    invalid.
    """
    targets: list[str] = list(scenarios) or [str(e.path) for e in scan_scenarios(parse=False)]
    if not targets:
        raise ScenarioError("no scenarios to validate (none in ./scenarios or bundled)")
    from dhakacart_bench.measure.engines.importcheck import import_problems

    failures = 0
    loaded = []
    for target in targets:
        try:
            loaded.append(load_scenario(target))
        except ScenarioError as exc:
            failures += 1
            click.echo(f"invalid: {exc}", err=True)
    # one child process imports every locustfile: validating patches nothing here
    problems = import_problems([s.path for s in loaded])
    for scenario in loaded:
        problem = problems[scenario.path]
        if problem is not None:
            failures += 1
            click.echo(f"invalid: {problem}", err=True)
        else:
            click.echo(f"ok: {scenario.name} ({scenario.summary()})")
    if failures:
        raise ScenarioError(f"{failures} of {len(targets)} scenario(s) invalid")
