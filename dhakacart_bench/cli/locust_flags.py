"""Locust's flags on ``bench run`` / ``bench master`` / ``bench init``: ``-f LOCUSTFILE
[UserClass ...] -u -r -t -H``, Locust's config files, and ``--slo`` flags.

:func:`choose_scenario` turns the command line into the Scenario to run: a scenario
name or file (as before), or a locustfile with Locust's meanings and defaults; Locust's
own config (``locust.conf``, ``[tool.locust]``, ``LOCUST_*``) fills what the command
line leaves out. The measuring stage (which imports locust) is imported inside only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import UsageError
from dhakacart_bench.scenario.from_locust import LocustFlags, parse_slo_flags

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Scenario


@dataclass
class Chosen:
    """The scenario to run, and what the command line and Locust's config added."""

    scenario: Scenario
    host: str | None
    host_source: str | None
    users: int | None
    notes: list[str] = field(default_factory=list)
    stop_timeout_s: float | None = None


def choose_scenario(options: dict[str, Any]) -> Chosen:
    """Pop the scenario-choosing options from ``options`` and return the choice."""
    names: tuple[str, ...] = tuple(options.pop("scenario"))
    locustfile: Path | None = options.pop("locustfile")
    spawn_rate, run_time = options.pop("spawn_rate"), options.pop("run_time_s")
    config_file = options.pop("locust_config")
    slos = parse_slo_flags(options.pop("slo_flags"))
    host, users = options.get("host"), options.get("users")
    if locustfile is None and len(names) == 1 and not names[0].endswith(".py"):
        if spawn_rate is not None or run_time is not None or config_file is not None:
            raise UsageError(
                "-r, -t and --config go with -f LOCUSTFILE; a scenario's stages set the"
                " spawn rate, and --duration squeezes them into a length"
            )
        from dhakacart_bench.scenario.lookup import load_scenario

        scenario = load_scenario(names[0])
        if slos:
            scenario = replace(scenario, slos=(*scenario.slos, *slos))
        return Chosen(scenario, host, None, users)
    if locustfile is None and len(names) > 1 and not names[0].endswith(".py"):
        raise UsageError(
            f"one SCENARIO at a time, got {len(names)} ({', '.join(names)}); User class names"
            " go after -f LOCUSTFILE"
        )
    if locustfile is None and len(names) >= 1 and names[0].endswith(".py"):
        locustfile, names = Path(names[0]), names[1:]  # `bench run locustfile.py`, as locust
    if options.get("duration_s") is not None:
        raise UsageError("--duration squeezes a scenario's stages; with -f use -t/--run-time")
    from dhakacart_bench.measure.engines.locust_config import read_locust_config
    from dhakacart_bench.measure.engines.locustfile_info import inspect_locustfile
    from dhakacart_bench.scenario.from_locust import scenario_from_locustfile

    config = read_locust_config(config_file)
    values = config.values
    notes = config.describe()
    if locustfile is None:
        locustfile = Path(str(values.get("locustfile") or "locustfile.py"))
        if not locustfile.is_file():
            raise UsageError(
                "give a SCENARIO (a name from `bench list`, or a .toml file) or -f LOCUSTFILE"
                f" (no {locustfile} here)"
            )
    classes = names or tuple(values.get("user_classes") or ())
    flags = LocustFlags(
        user_classes=tuple(classes),
        users=users if users is not None else values.get("users"),
        spawn_rate=spawn_rate if spawn_rate is not None else values.get("spawn_rate"),
        run_time_s=run_time if run_time is not None else _seconds(values.get("run_time")),
        slos=slos,
    )
    info = inspect_locustfile(locustfile)
    scenario, more = scenario_from_locustfile(info, flags)
    notes += more
    host_source = None
    if not host and values.get("host"):
        host, host_source = str(values["host"]), f"host in {', '.join(config.sources)}"
    stop = values.get("stop_timeout")
    return Chosen(
        scenario,
        host,
        host_source,
        None,  # the users are in the scenario's stage
        notes,
        float(stop) if stop not in (None, "0", 0) else None,
    )


def _seconds(value: Any) -> float | None:
    return None if value in (None, "", 0) else float(value)
