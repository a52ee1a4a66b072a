"""Importing a scenario's locustfile in a child process: does it import, and does it
define the user classes the scenario names?

``bench validate`` asks :func:`import_problem`; the child (``python -m
dhakacart_bench.measure.engines.importcheck SCENARIO``) imports Locust and the
locustfile, so validating patches nothing in the calling process and a locustfile that
hangs or exits at import cannot take the caller with it. This module imports nothing
heavy itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: A locustfile that takes longer than this to import is reported, not waited for.
DEFAULT_IMPORT_TIMEOUT_S = 60.0
#: The child's exit code when the locustfile does not import (its message on stdout).
BAD_LOCUSTFILE = 2


def import_problems(
    scenario_paths: Sequence[Path], *, timeout_s: float = DEFAULT_IMPORT_TIMEOUT_S
) -> dict[Path, str | None]:
    """For each scenario, why its locustfile fails to import (``file:line: Exception:
    ...``), or None when it imports and defines every user class the scenario names.

    One child process checks them all (Locust imports once)."""
    paths = [Path(p) for p in scenario_paths]
    if not paths:
        return {}
    command = [sys.executable, "-m", __name__, *map(str, paths)]
    try:
        child = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        why = f"importing the locustfiles took longer than {timeout_s:g} s"
        return dict.fromkeys(paths, why)
    try:
        answers = json.loads(child.stdout.strip().splitlines()[-1])
        return {p: answers[str(p)] for p in paths}
    except (IndexError, ValueError, KeyError, TypeError):
        tail = child.stderr.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        return dict.fromkeys(paths, f"the locustfile import check failed: {tail[0]}")


def _main(argv: list[str]) -> int:
    from dhakacart_bench.errors import ScenarioError
    from dhakacart_bench.measure.engines.locustfile import load_user_classes
    from dhakacart_bench.scenario.parse import load_scenario_file

    answers: dict[str, str | None] = {}
    for path in argv:
        try:
            load_user_classes(load_scenario_file(path))
            answers[path] = None
        except ScenarioError as exc:
            answers[path] = str(exc)
    print(json.dumps(answers))
    return BAD_LOCUSTFILE if any(answers.values()) else 0


if __name__ == "__main__":  # pragma: no cover - run as the child process
    sys.exit(_main(sys.argv[1:]))
