"""A scenario from a plain locustfile and Locust's flags (``bench run -f``, ``bench init``).

Pure: what the locustfile holds arrives as a :class:`LocustfileInfo` (read by
``measure/engines/locustfile_info.py``, which imports it); this module turns it and the
flags into a :class:`~dhakacart_bench.scenario.model.Scenario` with Locust's meanings
and defaults (``-u`` 1 user, ``-r`` 1 user/s, a ``LoadTestShape`` overriding both), parses
``--slo 'p95_ms<500'`` flags, and writes a scenario TOML that ``bench validate`` accepts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dhakacart_bench.errors import ScenarioError, UsageError
from dhakacart_bench.humanize import format_duration
from dhakacart_bench.scenario.metrics import ALL_ENDPOINTS
from dhakacart_bench.scenario.model import (
    SLO,
    GateSpec,
    LoadSpec,
    Scenario,
    Stage,
    StoreSpec,
    UserSpec,
)
from dhakacart_bench.scenario.parse_checks import parse_slos
from dhakacart_bench.scenario.tables import Table

#: Locust's defaults for ``-u`` and ``-r`` (``locust --help``).
LOCUST_DEFAULT_USERS = 1
LOCUST_DEFAULT_SPAWN_RATE = 1.0


@dataclass(frozen=True)
class ClassInfo:
    """One concrete User class of a locustfile, as Locust sees it."""

    name: str
    weight: int = 1
    fixed_count: int = 0
    host: str | None = None


@dataclass(frozen=True)
class LocustfileInfo:
    """What a locustfile holds: its user classes, and its shape's plan if it has one."""

    path: Path
    classes: tuple[ClassInfo, ...]
    doc: str = ""
    shape: str | None = None
    #: The shape's plan: its ``tick()`` results second by second, merged into stages.
    shape_stages: tuple[Stage, ...] = field(default=())


@dataclass(frozen=True)
class LocustFlags:
    """Locust's own flags as given (None = not given: Locust's default applies)."""

    user_classes: tuple[str, ...] = ()
    users: int | None = None
    spawn_rate: float | None = None
    run_time_s: float | None = None
    slos: tuple[SLO, ...] = ()


def choose_classes(info: LocustfileInfo, names: Sequence[str]) -> tuple[ClassInfo, ...]:
    """The classes named on the command line (Locust's positional UserClass), else all."""
    if not info.classes:
        raise ScenarioError(f"no User class in {info.path}", path=str(info.path))
    if not names:
        return info.classes
    known = {c.name: c for c in info.classes}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(
            f"no User class {', '.join(repr(n) for n in unknown)} in {info.path.name}"
            f" (it has: {', '.join(known)})"
        )
    return tuple(known[n] for n in dict.fromkeys(names))


def scenario_from_locustfile(
    info: LocustfileInfo, flags: LocustFlags
) -> tuple[Scenario, tuple[str, ...]]:
    """The Scenario a ``locust -f`` run would be, and notes for the user (ignored flags).

    Without a shape: one stage of ``-t`` seconds at ``-u`` users, spawned at ``-r``
    users/s. With a ``LoadTestShape``: its plan; ``-u``/``-r``/``-t`` are then ignored,
    as Locust ignores them.
    """
    classes = choose_classes(info, flags.user_classes)
    notes: list[str] = []
    if info.shape is not None:
        given_flags = (("-u", flags.users), ("-r", flags.spawn_rate), ("-t", flags.run_time_s))
        given = [flag for flag, value in given_flags if value is not None]
        if given:
            notes.append(
                f"{info.shape} (a LoadTestShape) drives the load: {', '.join(given)} ignored,"
                " as Locust ignores them"
            )
        stages = info.shape_stages
        if not stages:
            raise ScenarioError(f"{info.shape}.tick() returned None at once: no load to run")
    else:
        if flags.run_time_s is None:
            raise UsageError(
                "-t/--run-time is needed (e.g. -t 1m): Locust's default is to run until"
                " Ctrl-C, but bench measures a run of known length"
            )
        users = LOCUST_DEFAULT_USERS if flags.users is None else flags.users
        rate = LOCUST_DEFAULT_SPAWN_RATE if flags.spawn_rate is None else flags.spawn_rate
        if users < 1 or rate <= 0:
            raise UsageError(f"-u must be at least 1 and -r above 0, got -u {users} -r {rate:g}")
        stages = (Stage(duration_s=flags.run_time_s, users=users, spawn_rate=rate),)
    peak = max(stage.users or 0 for stage in stages)
    if peak < 1:
        raise ScenarioError(f"{info.shape}'s plan never asks for a user", path=str(info.path))
    first_line = info.doc.strip().splitlines()[0] if info.doc.strip() else ""
    scenario = Scenario(
        name=_slug(info.path.stem),
        description=first_line or f"{info.path.name}: {', '.join(c.name for c in classes)}",
        path=info.path,
        locustfile=info.path,
        users=tuple(
            UserSpec(class_name=c.name, weight=c.weight, fixed_count=c.fixed_count or None)
            for c in classes
        ),
        host=None,
        store=StoreSpec(),
        load=LoadSpec(model="closed", stages=stages, reference_users=peak, default_users=peak),
        slos=flags.slos,
        gate=GateSpec(),
        shape_class=info.shape,
    )
    return scenario, tuple(notes)


def _slug(stem: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    return slug or "locustfile"


_SLO_FLAG = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?:\[(?P<endpoint>[^\]]+)\])?\s*(?P<op><=?|>=?)\s*"
    r"(?P<value>[-+0-9.eE]+)\s*$"
)


def parse_slo_flags(texts: Sequence[str]) -> tuple[SLO, ...]:
    """``--slo 'p95_ms<500'``, ``--slo 'error_rate<0.01'``, ``--slo 'rps>100'``,
    ``--slo 'p99_ms[GET /api/cart]<800'`` → SLOs, validated as ``[[slo]]`` tables are."""
    tables = []
    for text in texts:
        match = _SLO_FLAG.match(text)
        if match is None:
            raise UsageError(
                f"--slo {text!r}: expected METRIC<VALUE or METRIC>VALUE, e.g. 'p95_ms<500',"
                " 'error_rate<0.01', 'rps>100', 'p99_ms[GET /api/cart]<800'"
            )
        value = float(match["value"])
        table: dict[str, object] = {
            "metric": match["metric"],
            "max" if match["op"].startswith("<") else "min": value,
        }
        if match["endpoint"]:
            table["endpoint"] = match["endpoint"].strip()
        tables.append(table)
    if not tables:
        return ()
    top = Table({"slo": tables}, path="--slo", prefix="", allowed=("slo",))
    return parse_slos(top)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _toml_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def scenario_toml(scenario: Scenario, *, out: Path, host: str | None = None) -> str:
    """A scenario file for ``scenario`` to be written at ``out`` (``bench init``)."""
    try:
        locustfile = os.path.relpath(scenario.locustfile, out.resolve().parent)
    except ValueError:  # another drive
        locustfile = str(scenario.locustfile)
    if locustfile.startswith(os.path.join(os.pardir, os.pardir)):
        locustfile = str(scenario.locustfile)  # far away: the absolute path reads better
    lines = [
        f"# Written by `bench init --from-locustfile {scenario.locustfile.name}`.",
        "# Add [[slo]] tables and [gate] rules, then `bench run` this file.",
        "",
        f"name = {_toml_str(scenario.name)}",
        f"description = {_toml_str(scenario.description)}",
        f"locustfile = {_toml_str(locustfile)}",
    ]
    if host:
        lines.append(f"host = {_toml_str(host)}")
    for user in scenario.users:
        lines += ["", "[[users]]", f"class = {_toml_str(user.class_name)}"]
        if user.fixed_count:
            lines.append(f"fixed_count = {user.fixed_count}")
        else:
            lines.append(f"weight = {user.weight}")
    lines += ["", "[load]", 'model = "closed"']
    if scenario.shape_class:
        lines.append(f"# the stages are {scenario.shape_class}'s plan, tick by tick")
    for stage in scenario.load.stages:
        lines += [
            "",
            "[[load.stages]]",
            f"duration = {_toml_str(format_duration(stage.duration_s).replace(' ', ''))}",
            f"users = {stage.users or 0}",
        ]
        if stage.spawn_rate is not None:
            lines.append(f"spawn_rate = {_toml_num(stage.spawn_rate)}")
    for slo in scenario.slos:
        lines += ["", "[[slo]]", f"metric = {_toml_str(slo.metric)}"]
        if slo.endpoint != ALL_ENDPOINTS:
            lines.append(f"endpoint = {_toml_str(slo.endpoint)}")
        if slo.max is not None:
            lines.append(f"max = {_toml_num(slo.max)}")
        if slo.min is not None:
            lines.append(f"min = {_toml_num(slo.min)}")
    return "\n".join(lines) + "\n"
