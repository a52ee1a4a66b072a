"""Scenario files: TOML in, frozen dataclasses out.

A scenario says which Locust user classes run (``[[users]]``), how the load
moves over time (``[load]`` and ``[[load.stages]]``), what the bundled store
looks like (``[store]``), which SLOs a run must meet (``[[slo]]``) and the CI
gate's rules (``[gate]``). The format is documented in ``docs/scenarios.md``.

Every problem raises :class:`~dhakacart_bench.errors.ScenarioError` naming the
file, the dotted key (``load.stages[2].users``) and what was expected. Unknown
keys are errors, with a "did you mean" suggestion. Booleans are not numbers.

Lookup (:func:`load_scenario`): an existing file path, then
``./scenarios/NAME.toml``, then the bundled scenarios. Locust is not imported
here: user classes are checked by parsing the locustfile's syntax tree.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

from dhakacart_bench.durations import format_duration, parse_duration
from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.resources import bundled_dir, find_locustfile, locustfile_candidates

__all__ = [
    "DEFAULT_ARRIVAL",
    "DEFAULT_MODEL",
    "EVENT_ACTIONS",
    "LATENCY_METRICS",
    "METRICS",
    "RELIABILITY_METRICS",
    "SLO",
    "EventSpec",
    "GateSpec",
    "LoadSpec",
    "ProbeSpec",
    "Scenario",
    "ScenarioEntry",
    "Stage",
    "StoreSpec",
    "UserSpec",
    "list_scenarios",
    "load_scenario",
    "load_scenario_file",
    "scan_scenarios",
    "scenario_from_dict",
    "with_deploy_command",
]

Model = Literal["closed", "open"]
Arrival = Literal["poisson", "uniform"]

DEFAULT_MODEL: Model = "closed"
DEFAULT_ARRIVAL: Arrival = "poisson"
MODELS: tuple[str, ...] = ("closed", "open")
ARRIVALS: tuple[str, ...] = ("poisson", "uniform")

LATENCY_METRICS: tuple[str, ...] = (
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_ms",
)
#: Metrics measured by the reliability sidecars (``[probe]``, ``[[events]]``): see
#: docs/reliability.md. ``availability_pct`` takes a lower bound, the others an upper one.
RELIABILITY_METRICS: tuple[str, ...] = (
    "availability_pct",
    "deploy_failed_requests",
    "recovery_s",
    "longest_gap_s",
)
METRICS: tuple[str, ...] = (
    *LATENCY_METRICS,
    "error_rate",
    "rps",
    "invariants",
    *RELIABILITY_METRICS,
)
#: What ``[[events]]`` can do; all but ``command`` need the bundled store.
EVENT_ACTIONS: tuple[str, ...] = ("deploy", "command", "kill-worker", "faults", "clear-faults")
DEPLOY_STRATEGIES: tuple[str, ...] = ("rolling", "restart")
DEFAULT_PROBE_INTERVAL_S = 0.5
DEFAULT_PROBE_PATHS: tuple[str, ...] = ("/health", "/api/products/1")
DEFAULT_PROBE_TIMEOUT_S = 2.0
DEFAULT_PROBE_SLO_PCT = 99.9
DEFAULT_COMMAND_TIMEOUT_S = 120.0
ALL_ENDPOINTS = "*"

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class UserSpec:
    """One Locust user class and its share: ``weight``, or a ``fixed_count`` of users.

    ``think_time`` (min, max seconds) replaces the class's own ``wait_time`` with
    ``between(min, max)`` — e.g. a short, busy CI smoke from the same shoppers.
    """

    class_name: str
    weight: int = 1
    fixed_count: int | None = None
    think_time: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.think_time is not None and not isinstance(self.think_time, tuple):
            object.__setattr__(self, "think_time", tuple(self.think_time))


@dataclass(frozen=True)
class Stage:
    """One stage of the load shape.

    Closed model: reach ``users`` at ``spawn_rate`` users/s (None = the change
    in users spread over the stage, at least 1/s) and hold until the stage ends.
    Open model: ``arrival_rate`` iterations/s, constant, or with ``ramp`` linear
    from the previous stage's rate (0 before the first stage).
    """

    duration_s: float
    users: int | None = None
    spawn_rate: float | None = None
    arrival_rate: float | None = None
    ramp: bool = False


@dataclass(frozen=True)
class LoadSpec:
    """How the load moves over time, at the size the stages are written for."""

    model: Model
    stages: tuple[Stage, ...]
    reference_users: int
    default_users: int
    max_users: int | None = None
    arrival: Arrival = DEFAULT_ARRIVAL

    @property
    def duration_s(self) -> float:
        """Total length of the stages, in seconds."""
        return sum(stage.duration_s for stage in self.stages)

    @property
    def peak_users(self) -> int:
        """Closed: the largest stage ``users``; open: ``max_users`` (the pool)."""
        if self.model == "open":
            return self.max_users or 0
        return max((stage.users or 0) for stage in self.stages)

    @property
    def peak_arrival_rate(self) -> float | None:
        """Open: the largest stage ``arrival_rate``; closed: None."""
        if self.model != "open":
            return None
        return max((stage.arrival_rate or 0.0) for stage in self.stages)


@dataclass(frozen=True)
class StoreSpec:
    """Settings of the bundled reference store (ignored when the scenario has a ``host``)."""

    products: int = 200
    deal_stock: int = 50
    deal_per_user_limit: int = 1
    deal_opens_at_s: float | None = None
    workers: int = 2
    threads: int = 16
    users: int = 0
    faults: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class SLO:
    """A service-level objective: ``metric`` of ``endpoint`` within ``max`` / above ``min``."""

    metric: str
    endpoint: str = ALL_ENDPOINTS
    max: float | None = None
    min: float | None = None
    name: str = ""


@dataclass(frozen=True)
class GateSpec:
    """Rules for ``bench gate`` (regression against a baseline)."""

    p95_regression_pct: float = 10.0
    endpoints: tuple[str, ...] = (ALL_ENDPOINTS,)
    min_requests: int = 200


@dataclass(frozen=True)
class ProbeSpec:
    """A synthetic availability probe (``[probe]``), independent of the Locust users.

    Every ``interval_s`` each of ``paths`` is fetched once (GET, ``timeout_s``); a
    check succeeds on a 2xx/3xx answer. ``slo_pct`` is the availability objective
    the report's error budget is measured against.
    """

    interval_s: float = DEFAULT_PROBE_INTERVAL_S
    paths: tuple[str, ...] = DEFAULT_PROBE_PATHS
    timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    slo_pct: float = DEFAULT_PROBE_SLO_PCT


@dataclass(frozen=True)
class EventSpec:
    """Something that happens at ``at_s`` seconds into the run (``[[events]]``).

    ``action``: ``deploy`` (bundled store; ``strategy`` ``rolling`` = gunicorn SIGHUP,
    ``restart`` = stop then start on the same port), ``command`` (run ``command`` in a
    shell, at most ``timeout_s``), ``kill-worker`` (SIGKILL one gunicorn worker),
    ``faults`` (set ``faults`` through the admin API; cleared again after ``for_s``
    when given) or ``clear-faults``.
    """

    at_s: float
    action: str
    name: str = ""
    strategy: str | None = None
    command: str | None = None
    timeout_s: float | None = None
    faults: Mapping[str, Any] | None = field(default=None, hash=False)
    for_s: float | None = None

    @property
    def label(self) -> str:
        """``deploy (rolling) at 20s`` unless the event has a name."""
        if self.name:
            return self.name
        what = self.action + (f" ({self.strategy})" if self.strategy else "")
        return f"{what} at {format_duration(self.at_s)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; ``EventSpec(**d)`` rebuilds it (faults copied)."""
        out = dataclasses.asdict(self)
        out["faults"] = None if self.faults is None else copy.deepcopy(dict(self.faults))
        return out


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``load`` is at the size it runs at (see :meth:`scaled`).

    ``scale`` is the factor :meth:`scaled` applied to the stages as written
    (1.0 = as written); ``time_scale`` the factor :meth:`with_duration` applied
    to stage durations.
    """

    name: str
    description: str
    path: Path
    locustfile: Path
    users: tuple[UserSpec, ...]
    host: str | None
    store: StoreSpec
    load: LoadSpec
    slos: tuple[SLO, ...]
    gate: GateSpec
    scale: float = 1.0
    time_scale: float = 1.0
    probe: ProbeSpec | None = None
    events: tuple[EventSpec, ...] = ()

    def scaled(self, users: int) -> Scenario:
        """Return a copy sized for ``users`` peak users.

        Every stage's ``users``, ``spawn_rate`` and ``arrival_rate`` and the open
        model's ``max_users`` are multiplied by ``users / reference_users``.
        Counts are rounded; a count or spawn rate that was >= 1 stays >= 1.
        Scaling is always relative to the stages as written, so
        ``s.scaled(a).scaled(b)`` sizes like ``s.scaled(b)`` (up to rounding).
        ``users == reference_users`` on an unscaled scenario returns it unchanged.
        """
        if isinstance(users, bool) or not isinstance(users, int) or users < 1:
            raise ValueError(f"users must be a positive integer, got {users!r}")
        target = users / self.load.reference_users
        if math.isclose(target, self.scale):
            return self
        factor = target / self.scale
        stages = tuple(_scale_stage(stage, factor) for stage in self.load.stages)
        max_users = self.load.max_users
        if max_users is not None:
            max_users = _scale_count(max_users, factor)
        load = dataclasses.replace(self.load, stages=stages, max_users=max_users)
        return dataclasses.replace(self, load=load, scale=target)

    def with_duration(self, seconds: float) -> Scenario:
        """Return a copy whose stages last ``seconds`` in total, in the same proportions.

        Explicit spawn rates are multiplied by the inverse factor (a ramp still
        completes within its stage); ``store.deal_opens_at_s`` and every event's
        ``at_s`` (and a faults event's ``for_s``) move with the stages. Arrival rates
        are per second and stay as they are; so do the probe's interval and timeouts.
        """
        if isinstance(seconds, bool) or not seconds > 0 or not math.isfinite(seconds):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        factor = seconds / self.load.duration_s
        if math.isclose(factor, 1.0):
            return self
        stages = tuple(
            dataclasses.replace(
                stage,
                duration_s=stage.duration_s * factor,
                spawn_rate=(
                    None if stage.spawn_rate is None else _scale_rate(stage.spawn_rate, 1 / factor)
                ),
            )
            for stage in self.load.stages
        )
        opens = self.store.deal_opens_at_s
        store = dataclasses.replace(
            self.store, deal_opens_at_s=None if opens is None else opens * factor
        )
        events = tuple(
            dataclasses.replace(
                event,
                at_s=event.at_s * factor,
                for_s=None if event.for_s is None else event.for_s * factor,
            )
            for event in self.events
        )
        return dataclasses.replace(
            self,
            load=dataclasses.replace(self.load, stages=stages),
            store=store,
            time_scale=self.time_scale * factor,
            events=events,
        )

    def summary(self) -> str:
        """One line: model, length, size, user classes, SLOs."""
        load = self.load
        if self.scale != 1.0:
            size = f"{load.peak_users:,} users (scaled from {load.reference_users:,})"
        elif load.default_users != load.reference_users:
            size = f"{load.default_users:,} users by default ({load.reference_users:,} as written)"
        else:
            size = f"{load.reference_users:,} users"
        if load.model == "open":
            size = f"up to {load.peak_arrival_rate:g} arrivals/s, pool of {size}"
        classes = ", ".join(u.class_name for u in self.users)
        return (
            f"{load.model}, {format_duration(load.duration_s)}, {size}, "
            f"{_plural(len(load.stages), 'stage')}, {classes}, {_plural(len(self.slos), 'SLO')}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; :func:`scenario_from_dict` turns it back into an equal Scenario."""
        store = dataclasses.asdict(self.store)
        store["faults"] = (
            None if self.store.faults is None else copy.deepcopy(dict(self.store.faults))
        )
        load = dataclasses.asdict(self.load)
        load["stages"] = [dataclasses.asdict(stage) for stage in self.load.stages]
        gate = dataclasses.asdict(self.gate)
        gate["endpoints"] = list(self.gate.endpoints)
        return {
            "name": self.name,
            "description": self.description,
            "path": str(self.path),
            "locustfile": str(self.locustfile),
            "users": [dataclasses.asdict(user) for user in self.users],
            "host": self.host,
            "store": store,
            "load": load,
            "slos": [dataclasses.asdict(slo) for slo in self.slos],
            "gate": gate,
            "scale": self.scale,
            "time_scale": self.time_scale,
            "probe": None if self.probe is None else _probe_dict(self.probe),
            "events": [event.to_dict() for event in self.events],
        }


def _probe_dict(probe: ProbeSpec) -> dict[str, Any]:
    out = dataclasses.asdict(probe)
    out["paths"] = list(probe.paths)
    return out


def with_deploy_command(
    scenario: Scenario,
    command: str,
    at_s: float,
    *,
    timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
) -> Scenario:
    """``scenario`` plus a ``command`` event (a deploy of any target) at ``at_s``.

    What ``bench run --deploy-cmd CMD --deploy-at 30s`` does. ``at_s`` is in the
    scenario's own time: apply it to the scenario as it will run (after
    ``runner.sized_scenario``) and run with ``duration_s=None``, or the event moves
    with ``--duration`` like every other event. Raises ScenarioError on an empty
    command, a negative ``at_s`` or one beyond the run's length.
    """
    where = "--deploy-at"
    if not isinstance(command, str) or not command.strip():
        raise ScenarioError("--deploy-cmd: expected a shell command, got an empty string")
    if isinstance(at_s, bool) or not isinstance(at_s, int | float) or not math.isfinite(at_s):
        raise ScenarioError(f"{where}: expected a number of seconds, got {at_s!r}")
    length = scenario.load.duration_s
    if not 0 <= at_s <= length:
        raise ScenarioError(
            f"{where}: expected a time within the run (0 to {format_duration(length)}), "
            f"got {format_duration(at_s) if at_s >= 0 else at_s}"
        )
    if not timeout_s > 0:
        raise ScenarioError(f"--deploy-cmd timeout: expected a positive number, got {timeout_s}")
    event = EventSpec(
        at_s=float(at_s),
        action="command",
        name="deploy command",
        command=command,
        timeout_s=float(timeout_s),
    )
    return dataclasses.replace(scenario, events=(*scenario.events, event))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _scale_count(value: int, factor: float) -> int:
    scaled = round(value * factor)
    return max(1, scaled) if value >= 1 else scaled


def _scale_rate(value: float, factor: float) -> float:
    scaled = value * factor
    return max(1.0, scaled) if value >= 1 else scaled


def _scale_stage(stage: Stage, factor: float) -> Stage:
    return dataclasses.replace(
        stage,
        users=None if stage.users is None else _scale_count(stage.users, factor),
        spawn_rate=None if stage.spawn_rate is None else _scale_rate(stage.spawn_rate, factor),
        arrival_rate=None if stage.arrival_rate is None else stage.arrival_rate * factor,
    )


# --------------------------------------------------------------------------- validation helpers

_MISSING: Any = object()
T = TypeVar("T")


def _show(value: object) -> str:
    """A TOML value as the user wrote it, for error messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 60 else "an array"
    return f"{value!r} (a {type(value).__name__})"


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Table:
    """One TOML table being validated: knows its file and dotted prefix."""

    def __init__(
        self, data: Mapping[str, Any], *, path: str, prefix: str, allowed: Sequence[str]
    ) -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        for key in data:
            if key not in allowed:
                self.fail(
                    key,
                    f'unknown key "{key}"{_suggest(key, allowed)}; '
                    f"expected one of: {', '.join(allowed)}",
                )

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str | None, message: str) -> NoReturn:
        key = self.key(name) if name else (self.prefix or None)
        raise ScenarioError(message, path=self.path, key=key)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, default: Any, expected: str) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            self.fail(name, f"missing required key (expected {expected})")
        return default

    def string(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default, "a string")
        if value is not default and not isinstance(value, str):
            self.fail(name, f"expected a string, got {_show(value)}")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default, "true or false")
        if value is not default and not isinstance(value, bool):
            self.fail(name, f"expected true or false, got {_show(value)}")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, minimum: int = 1) -> Any:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(name, f"expected {expected}, got {_show(value)}")
        return value

    def number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        positive: bool = False,
        at_most: float | None = None,
    ) -> Any:
        expected = "a positive number" if positive else "a number >= 0"
        if at_most is not None:
            expected = f"a number from 0 to {at_most:g}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        ok = _is_number(value) and math.isfinite(value)
        ok = ok and (value > 0 if positive else value >= 0)
        ok = ok and (at_most is None or value <= at_most)
        if not ok:
            self.fail(name, f"expected {expected}, got {_show(value)}")
        return float(value)

    def duration(self, name: str, default: Any = _MISSING, *, positive: bool = True) -> Any:
        value = self._get(name, default, "a duration")
        if value is default:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(name, str(exc))
        if positive and seconds <= 0:
            self.fail(name, f"expected a duration longer than zero, got {_show(value)}")
        return seconds

    def choice(self, name: str, choices: Sequence[str], default: Any = _MISSING) -> Any:
        quoted = [f'"{c}"' for c in choices]
        expected = " or ".join(quoted) if len(quoted) <= 2 else f"one of {', '.join(quoted)}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(value, choices) if isinstance(value, str) else ""
            self.fail(name, f"expected {expected}, got {_show(value)}{hint}")
        return value

    def table(self, name: str, allowed: Sequence[str]) -> _Table:
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            self.fail(name, f"expected a table ([{self.key(name)}]), got {_show(value)}")
        return _Table(value, path=self.path, prefix=self.key(name), allowed=allowed)

    def tables(
        self, name: str, allowed: Sequence[str], *, required: bool, expected: str
    ) -> list[_Table]:
        """An array of tables (``[[name]]``); each item validated against ``allowed``."""
        header = f"[[{self.key(name)}]]"
        if name not in self.data:
            if required:
                self.fail(name, f"missing required {header} (expected at least one {expected})")
            return []
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            self.fail(name, f"expected an array of tables ({header}), got {_show(value)}")
        if required and not value:
            self.fail(name, f"expected at least one {expected}, got none")
        return [
            _Table(item, path=self.path, prefix=f"{self.key(name)}[{i}]", allowed=allowed)
            for i, item in enumerate(value)
        ]


# --------------------------------------------------------------------------- parsing

_TOP_KEYS = (
    "name",
    "description",
    "locustfile",
    "host",
    "users",
    "store",
    "load",
    "slo",
    "gate",
    "probe",
    "events",
)
_USER_KEYS = ("class", "weight", "fixed_count", "think_time")
_STORE_KEYS = (
    "products",
    "deal_stock",
    "deal_per_user_limit",
    "deal_opens_at",
    "workers",
    "threads",
    "users",
    "faults",
)
_LOAD_KEYS = ("model", "reference_users", "default_users", "max_users", "arrival", "stages")
_STAGE_KEYS = ("duration", "users", "spawn_rate", "arrival_rate", "ramp")
_CLOSED_ONLY = ("users", "spawn_rate")
_OPEN_ONLY = ("arrival_rate", "ramp")
_SLO_KEYS = ("name", "metric", "endpoint", "max", "min")
_GATE_KEYS = ("p95_regression_pct", "endpoints", "min_requests")
_PROBE_KEYS = ("interval", "paths", "timeout", "slo_pct")
_EVENT_KEYS = ("at", "action", "name", "strategy", "command", "timeout", "faults", "for")
#: The keys each event action takes besides ``at``, ``action`` and ``name``.
_EVENT_ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "deploy": ("strategy",),
    "command": ("command", "timeout"),
    "kill-worker": (),
    "faults": ("faults", "for"),
    "clear-faults": (),
}


def _parse_scenario(data: Mapping[str, Any], *, path: Path, cwd: Path) -> Scenario:
    top = _Table(data, path=str(path), prefix="", allowed=_TOP_KEYS)
    name = top.string("name", path.stem)
    if not _SLUG_RE.match(name):
        top.fail(
            "name",
            "expected a slug (lower-case letters, digits, - and _, "
            f"starting with a letter or digit), got {_show(name)}",
        )
    description = top.string("description", "")
    locustfile = _parse_locustfile(top, scenario_dir=path.parent, cwd=cwd)
    host = _parse_host(top)
    load = _parse_load(top)
    probe = _parse_probe(top)
    return Scenario(
        name=name,
        description=description.strip(),
        path=path,
        locustfile=locustfile,
        users=_parse_users(top, locustfile),
        host=host,
        store=_parse_store(top),
        load=load,
        slos=_parse_slos(top, probe=probe),
        gate=_parse_gate(top),
        probe=probe,
        events=_parse_events(top, length_s=load.duration_s, host=host),
    )


def _parse_locustfile(top: _Table, *, scenario_dir: Path, cwd: Path) -> Path:
    name = top.string("locustfile")
    if not name.strip():
        top.fail("locustfile", 'expected the name of a Python file such as "shoppers.py", got ""')
    found = find_locustfile(name, scenario_dir=scenario_dir, cwd=cwd)
    if found is None:
        tried = ", ".join(
            str(p) for p in locustfile_candidates(name, scenario_dir=scenario_dir, cwd=cwd)
        )
        top.fail("locustfile", f"locustfile {_show(name)} not found (looked for {tried})")
    return found


def locustfile_classes(path: Path) -> tuple[set[str], set[str]]:
    """(classes defined, names imported) at module level of a locustfile, without importing it.

    Names bound by ``from x import Name`` count too when checking a user class
    (a locustfile may re-export user classes from a shared module). Raises
    ``ValueError`` when the file cannot be read or is not valid Python.
    """
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read locustfile {path}: {exc}") from exc
    except SyntaxError as exc:
        raise ValueError(
            f"locustfile {path} is not valid Python (line {exc.lineno}): {exc.msg}"
        ) from None
    classes: set[str] = set()
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            imported.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return classes, imported


def _parse_users(top: _Table, locustfile: Path) -> tuple[UserSpec, ...]:
    items = top.tables(
        "users", _USER_KEYS, required=True, expected="user class ([[users]] class = ...)"
    )
    try:
        defined, imported = locustfile_classes(locustfile)
    except ValueError as exc:
        top.fail("locustfile", str(exc))
    specs: list[UserSpec] = []
    seen: set[str] = set()
    for item in items:
        class_name = item.string("class")
        if not _IDENTIFIER_RE.match(class_name):
            item.fail("class", f"expected a Python class name, got {_show(class_name)}")
        if class_name not in defined and class_name not in imported:
            available = ", ".join(sorted(defined)) or "none"
            item.fail(
                "class",
                f"user class {_show(class_name)} is not defined in {locustfile}"
                f"{_suggest(class_name, sorted(defined))}; classes there: {available}",
            )
        if class_name in seen:
            item.fail("class", f"user class {_show(class_name)} is listed twice")
        seen.add(class_name)
        if item.has("weight") and item.has("fixed_count"):
            item.fail("fixed_count", "give either weight or fixed_count, not both")
        specs.append(
            UserSpec(
                class_name=class_name,
                weight=item.integer("weight", 1),
                fixed_count=item.integer("fixed_count", None),
                think_time=_parse_think_time(item),
            )
        )
    return tuple(specs)


def _parse_think_time(item: _Table) -> tuple[float, float] | None:
    if not item.has("think_time"):
        return None
    value = item.data["think_time"]
    expected = 'two durations [min, max], e.g. ["0.2s", "1s"] or [0.2, 1]'
    if not isinstance(value, list) or len(value) != 2:
        item.fail("think_time", f"expected {expected}, got {_show(value)}")
    try:
        low, high = (parse_duration(v) for v in value)
    except ValueError as exc:
        item.fail("think_time", str(exc))
    if low > high:
        item.fail("think_time", f"expected min <= max, got {_show(value)}")
    return (low, high)


def _parse_host(top: _Table) -> str | None:
    from urllib.parse import urlsplit

    host = top.string("host", "")
    if host == "":
        return None
    expected = (
        'expected an http(s) URL such as "https://staging.example.com", '
        f'or "" for the bundled store, got {_show(host)}'
    )
    if any(ch.isspace() for ch in host):
        top.fail("host", expected)
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        top.fail("host", expected)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        top.fail("host", expected)
    return host.rstrip("/")


def _parse_store(top: _Table) -> StoreSpec:
    store = top.table("store", _STORE_KEYS)
    defaults = StoreSpec()
    faults = store.data.get("faults")
    if faults is not None and not isinstance(faults, Mapping):
        store.fail("faults", f"expected a table ([store.faults]), got {_show(faults)}")
    return StoreSpec(
        products=store.integer("products", defaults.products),
        deal_stock=store.integer("deal_stock", defaults.deal_stock, minimum=0),
        deal_per_user_limit=store.integer("deal_per_user_limit", defaults.deal_per_user_limit),
        deal_opens_at_s=store.duration("deal_opens_at", None, positive=False),
        workers=store.integer("workers", defaults.workers),
        threads=store.integer("threads", defaults.threads),
        users=store.integer("users", defaults.users, minimum=0),
        faults=None if faults is None else copy.deepcopy(dict(faults)),
    )


def _parse_load(top: _Table) -> LoadSpec:
    if not top.has("load"):
        top.fail("load", "missing required [load] table (expected [[load.stages]])")
    load = top.table("load", _LOAD_KEYS)
    model: Model = "open" if load.choice("model", MODELS, DEFAULT_MODEL) == "open" else "closed"
    items = load.tables("stages", _STAGE_KEYS, required=True, expected="stage")
    stages = tuple(_parse_stage(item, model) for item in items)

    if model == "closed":
        for key in ("max_users", "arrival"):
            if load.has(key):
                load.fail(key, f'"{key}" is for the open model only (model = "open")')
        peak = max((stage.users or 0) for stage in stages)
        if peak < 1:
            load.fail("stages", "expected at least one stage with users >= 1, got none")
        max_users = None
        arrival: Arrival = DEFAULT_ARRIVAL
    else:
        if not load.has("max_users"):
            load.fail(
                "max_users",
                "missing required key (the open model needs max_users = N, "
                "the pool of users serving arrivals)",
            )
        max_users = load.integer("max_users")
        arrival = (
            "uniform"
            if load.choice("arrival", ARRIVALS, DEFAULT_ARRIVAL) == "uniform"
            else "poisson"
        )
        if not any((stage.arrival_rate or 0) > 0 for stage in stages):
            load.fail("stages", "expected at least one stage with arrival_rate > 0, got none")
        peak = max_users

    reference = load.integer("reference_users", peak)
    if reference != peak:
        what = "the largest stage users" if model == "closed" else "max_users"
        load.fail(
            "reference_users",
            f"expected the scenario's full size as written ({what} = {peak}), got {reference}",
        )
    default_users = load.integer("default_users", reference)
    return LoadSpec(
        model=model,
        stages=stages,
        reference_users=reference,
        default_users=default_users,
        max_users=max_users,
        arrival=arrival,
    )


def _parse_stage(item: _Table, model: Model) -> Stage:
    duration = item.duration("duration")
    if model == "closed":
        for key in _OPEN_ONLY:
            if item.has(key):
                item.fail(key, f'"{key}" is for open-model stages; a closed stage takes users')
        if not item.has("users"):
            item.fail("users", "missing required key (a closed-model stage needs users = N)")
        return Stage(
            duration_s=duration,
            users=item.integer("users", minimum=0),
            spawn_rate=item.number("spawn_rate", None, positive=True),
        )
    for key in _CLOSED_ONLY:
        if item.has(key):
            item.fail(key, f'"{key}" is for closed-model stages; an open stage takes arrival_rate')
    if not item.has("arrival_rate"):
        item.fail(
            "arrival_rate",
            "missing required key (an open-model stage needs arrival_rate = iterations/s)",
        )
    return Stage(
        duration_s=duration,
        arrival_rate=item.number("arrival_rate"),
        ramp=item.boolean("ramp", False),
    )


def _format_number(value: float) -> str:
    return f"{value:g}"


def default_slo_name(metric: str, endpoint: str, max_: float | None, min_: float | None) -> str:
    """``p95_ms <= 500 on GET /api/products/[id]``, ``invariants hold``."""
    if metric == "invariants":
        return "invariants hold"
    bounds = []
    if min_ is not None:
        bounds.append(f">= {_format_number(min_)}")
    if max_ is not None:
        bounds.append(f"<= {_format_number(max_)}")
    if metric in RELIABILITY_METRICS and endpoint == ALL_ENDPOINTS:
        return f"{metric} {' and '.join(bounds)}"
    where = "all endpoints" if endpoint == ALL_ENDPOINTS else endpoint
    return f"{metric} {' and '.join(bounds)} on {where}"


def _parse_reliability_slo(
    item: _Table, metric: str, probe: ProbeSpec | None
) -> tuple[str, float | None, float | None]:
    """(endpoint, max, min) of an SLO on a reliability metric."""
    if metric in ("availability_pct", "longest_gap_s") and probe is None:
        item.fail("metric", f'metric "{metric}" needs the availability probe: add a [probe] table')
    if metric == "availability_pct":
        endpoint = item.string("endpoint", ALL_ENDPOINTS)
        if probe is not None and endpoint != ALL_ENDPOINTS and endpoint not in probe.paths:
            item.fail(
                "endpoint",
                f'expected "*" or one of the probe paths ({", ".join(probe.paths)}), '
                f"got {_show(endpoint)}",
            )
        if item.has("max"):
            item.fail("max", 'metric "availability_pct" takes a lower bound: use min, not max')
        if not item.has("min"):
            item.fail("min", 'missing required key (metric "availability_pct" needs min = 99.9)')
        return endpoint, None, item.number("min", at_most=100.0)
    if item.has("endpoint"):
        item.fail("endpoint", f'metric "{metric}" is measured on the whole run: no endpoint')
    if item.has("min"):
        item.fail("min", f'metric "{metric}" takes an upper bound: use max, not min')
    if not item.has("max"):
        unit = "a number of requests" if metric == "deploy_failed_requests" else "seconds"
        item.fail("max", f'missing required key (metric "{metric}" needs max = {unit})')
    return ALL_ENDPOINTS, item.number("max"), None


def _parse_slos(top: _Table, *, probe: ProbeSpec | None = None) -> tuple[SLO, ...]:
    slos = []
    for item in top.tables("slo", _SLO_KEYS, required=False, expected="SLO"):
        metric = item.choice("metric", METRICS)
        if metric in RELIABILITY_METRICS:
            endpoint, max_, min_ = _parse_reliability_slo(item, metric, probe)
            name = item.string("name", "") or default_slo_name(metric, endpoint, max_, min_)
            slos.append(SLO(metric=metric, endpoint=endpoint, max=max_, min=min_, name=name))
            continue
        endpoint = item.string("endpoint", ALL_ENDPOINTS)
        if not endpoint.strip():
            item.fail("endpoint", 'expected an endpoint such as "GET /api/products/[id]" or "*"')
        if metric == "invariants":
            for key in ("max", "min", "endpoint"):
                if item.has(key):
                    item.fail(
                        key, 'the "invariants" SLO takes no max, min or endpoint (they must hold)'
                    )
            max_ = min_ = None
        elif metric == "rps":
            max_ = item.number("max", None)
            min_ = item.number("min", None)
            if max_ is None and min_ is None:
                item.fail(None, 'expected min (and/or max) for metric "rps", got neither')
            if max_ is not None and min_ is not None and min_ > max_:
                item.fail("min", f"expected min <= max ({_format_number(max_)}), got {min_:g}")
        else:
            if item.has("min"):
                item.fail("min", f'metric "{metric}" takes an upper bound: use max, not min')
            if not item.has("max"):
                unit = "a fraction from 0 to 1" if metric == "error_rate" else "milliseconds"
                item.fail("max", f'missing required key (metric "{metric}" needs max = {unit})')
            max_ = item.number("max", at_most=1.0 if metric == "error_rate" else None)
            min_ = None
        name = item.string("name", "") or default_slo_name(metric, endpoint, max_, min_)
        slos.append(SLO(metric=metric, endpoint=endpoint, max=max_, min=min_, name=name))
    return tuple(slos)


def _parse_gate(top: _Table) -> GateSpec:
    gate = top.table("gate", _GATE_KEYS)
    defaults = GateSpec()
    endpoints = gate.data.get("endpoints", list(defaults.endpoints))
    if (
        not isinstance(endpoints, list)
        or not endpoints
        or not all(isinstance(e, str) and e.strip() for e in endpoints)
    ):
        gate.fail(
            "endpoints",
            f'expected a non-empty array of endpoint names such as ["*"], got {_show(endpoints)}',
        )
    return GateSpec(
        p95_regression_pct=gate.number("p95_regression_pct", defaults.p95_regression_pct),
        endpoints=tuple(endpoints),
        min_requests=gate.integer("min_requests", defaults.min_requests, minimum=0),
    )


def _parse_probe(top: _Table) -> ProbeSpec | None:
    if not top.has("probe"):
        return None
    probe = top.table("probe", _PROBE_KEYS)
    defaults = ProbeSpec()
    paths = probe.data.get("paths", list(defaults.paths))
    if (
        not isinstance(paths, list)
        or not paths
        or not all(isinstance(p, str) and p.startswith("/") and p.strip() == p for p in paths)
    ):
        probe.fail(
            "paths",
            'expected a non-empty array of paths starting with "/", such as '
            f'["/health", "/api/products/1"], got {_show(paths)}',
        )
    if len(set(paths)) != len(paths):
        probe.fail("paths", f"expected each path once, got {_show(paths)}")
    interval = probe.duration("interval", defaults.interval_s)
    timeout = probe.duration("timeout", defaults.timeout_s)
    slo_pct = probe.number("slo_pct", defaults.slo_pct, positive=True, at_most=100.0)
    if slo_pct <= 0:
        probe.fail("slo_pct", f"expected a percentage above 0 and at most 100, got {slo_pct:g}")
    return ProbeSpec(interval_s=interval, paths=tuple(paths), timeout_s=timeout, slo_pct=slo_pct)


def _parse_events(top: _Table, *, length_s: float, host: str | None) -> tuple[EventSpec, ...]:
    events = []
    for item in top.tables("events", _EVENT_KEYS, required=False, expected="event"):
        action = item.choice("action", EVENT_ACTIONS)
        allowed = _EVENT_ACTION_KEYS[action]
        for key in _EVENT_KEYS:
            if key not in ("at", "action", "name") and key not in allowed and item.has(key):
                takes = ", ".join(allowed) if allowed else "nothing but at and name"
                item.fail(key, f'action "{action}" does not take "{key}" (it takes {takes})')
        if host is not None and action != "command":
            item.fail(
                "action",
                f'action "{action}" needs the bundled store, but the scenario sets host = '
                f'{_show(host)}; use action = "command" to act on another target',
            )
        at = item.duration("at", positive=False)
        if at > length_s:
            item.fail(
                "at",
                f"expected a time within the run (0 to {format_duration(length_s)}), "
                f"got {format_duration(at)}",
            )
        name = item.string("name", "")
        strategy = command = faults = None
        timeout = for_s = None
        if action == "deploy":
            strategy = item.choice("strategy", DEPLOY_STRATEGIES, "rolling")
        elif action == "command":
            command = item.string("command")
            if not command.strip():
                item.fail("command", 'expected a shell command such as "./deploy.sh", got ""')
            timeout = item.duration("timeout", DEFAULT_COMMAND_TIMEOUT_S)
        elif action == "faults":
            faults = item.data.get("faults")
            if not isinstance(faults, Mapping) or not faults:
                shown = "nothing" if faults is None else _show(faults)
                item.fail(
                    "faults",
                    "expected a non-empty table of fault knobs such as "
                    f'{{latency_ms = {{"*" = 500}}}}, got {shown}',
                )
            faults = copy.deepcopy(dict(faults))
            for_s = item.duration("for", None)
            if for_s is not None and at + for_s > length_s:
                item.fail(
                    "for",
                    f"expected the faults to end within the run ({format_duration(length_s)}), "
                    f"got {format_duration(at)} + {format_duration(for_s)}",
                )
        events.append(
            EventSpec(
                at_s=at,
                action=action,
                name=name.strip(),
                strategy=strategy,
                command=command,
                timeout_s=timeout,
                faults=faults,
                for_s=for_s,
            )
        )
    return tuple(events)


# --------------------------------------------------------------------------- loading and lookup


def load_scenario_file(path: str | Path, *, cwd: Path | None = None) -> Scenario:
    """Read and validate one scenario file."""
    cwd = Path.cwd() if cwd is None else cwd
    path = Path(path).expanduser()
    if not path.is_absolute():
        path = cwd / path
    shown = str(path)
    if path.is_dir():
        raise ScenarioError("expected a scenario .toml file, got a directory", path=shown)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", path=shown) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc.strerror}", path=shown) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason})", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", path=shown) from None
    return _parse_scenario(data, path=path.resolve(), cwd=cwd)


def _search_dirs(cwd: Path) -> list[tuple[Path, Literal["local", "bundled"]]]:
    local = cwd / "scenarios"
    bundled = bundled_dir("scenarios")
    if local.resolve() == bundled.resolve():
        return [(bundled, "bundled")]
    return [(local, "local"), (bundled, "bundled")]


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text or text.startswith(".")


def load_scenario(name_or_path: str | Path, *, cwd: Path | None = None) -> Scenario:
    """Find and load a scenario by file path or by name.

    Lookup order: an existing file at ``name_or_path`` (relative to ``cwd``),
    then ``<cwd>/scenarios/NAME.toml``, then the bundled ``NAME.toml``, then a
    scenario file there whose ``name`` key is NAME. A missing path, or an
    unknown name, raises ScenarioError (listing the available names).
    """
    cwd = Path.cwd() if cwd is None else cwd
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    if candidate.is_file() or isinstance(name_or_path, Path) or _looks_like_path(text):
        return load_scenario_file(candidate, cwd=cwd)
    for folder, _source in _search_dirs(cwd):
        path = folder / f"{text}.toml"
        if path.is_file():
            return load_scenario_file(path, cwd=cwd)
    for folder, _source in _search_dirs(cwd):
        for path in sorted(folder.glob("*.toml")):
            if _declared_name(path) == text:
                return load_scenario_file(path, cwd=cwd)
    names = sorted({entry.name for entry in scan_scenarios(cwd=cwd, parse=False)})
    available = ", ".join(names) if names else "none found"
    raise ScenarioError(
        f'no scenario named "{text}" in {cwd / "scenarios"} or the bundled scenarios '
        f"(available: {available}); or give the path of a .toml file"
    )


def _declared_name(path: Path) -> str | None:
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class ScenarioEntry:
    """A scenario file found by :func:`scan_scenarios`: valid (``scenario``) or not (``error``)."""

    name: str
    path: Path
    source: Literal["local", "bundled"]
    scenario: Scenario | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.scenario is not None


def scan_scenarios(*, cwd: Path | None = None, parse: bool = True) -> list[ScenarioEntry]:
    """Every scenario file in ``<cwd>/scenarios`` then the bundled ones, each parsed.

    A local file shadows a bundled file of the same stem (the bundled one is
    left out). A broken file does not stop the scan: its entry carries the
    error message instead of a scenario. ``parse=False`` only lists the files.
    """
    cwd = Path.cwd() if cwd is None else cwd
    entries: list[ScenarioEntry] = []
    seen: set[str] = set()
    for folder, source in _search_dirs(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.stem in seen:
                continue
            seen.add(path.stem)
            if not parse:
                entries.append(ScenarioEntry(name=path.stem, path=path, source=source))
                continue
            try:
                scenario = load_scenario_file(path, cwd=cwd)
            except ScenarioError as exc:
                entries.append(
                    ScenarioEntry(name=path.stem, path=path, source=source, error=str(exc))
                )
            else:
                entries.append(
                    ScenarioEntry(name=scenario.name, path=path, source=source, scenario=scenario)
                )
    return entries


def list_scenarios(*, cwd: Path | None = None) -> list[Scenario]:
    """The valid scenarios, local (``./scenarios``) first, then bundled.

    Broken files are skipped here; :func:`scan_scenarios` reports them.
    """
    return [entry.scenario for entry in scan_scenarios(cwd=cwd) if entry.scenario is not None]


# --------------------------------------------------------------------------- dict round trip


def _build(cls: Callable[..., T], data: Any, what: str) -> T:
    if not isinstance(data, Mapping):
        raise TypeError(f"{what}: expected an object, got {type(data).__name__}")
    return cls(**data)


def scenario_from_dict(d: Mapping[str, Any]) -> Scenario:
    """Rebuild a Scenario from :meth:`Scenario.to_dict` output (e.g. from ``run.json``).

    The dict is trusted to come from ``to_dict`` (no locustfile check); a dict
    of the wrong shape raises ScenarioError.
    """
    try:
        load = dict(d["load"])
        load["stages"] = tuple(_build(Stage, s, "load.stages[]") for s in load["stages"])
        gate = dict(d.get("gate") or {})
        if "endpoints" in gate:
            gate["endpoints"] = tuple(gate["endpoints"])
        store = dict(d.get("store") or {})
        if store.get("faults") is not None:
            store["faults"] = copy.deepcopy(dict(store["faults"]))
        return Scenario(
            name=d["name"],
            description=d.get("description", ""),
            path=Path(d["path"]),
            locustfile=Path(d["locustfile"]),
            users=tuple(_build(UserSpec, u, "users[]") for u in d["users"]),
            host=d.get("host"),
            store=StoreSpec(**store),
            load=LoadSpec(**load),
            slos=tuple(_build(SLO, s, "slos[]") for s in d.get("slos", ())),
            gate=GateSpec(**gate),
            scale=float(d.get("scale", 1.0)),
            time_scale=float(d.get("time_scale", 1.0)),
            probe=_probe_from_dict(d.get("probe")),
            events=tuple(_event_from_dict(e) for e in d.get("events") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ScenarioError(
            f"not a scenario dict as Scenario.to_dict() writes it: {detail}",
            path=str(d.get("path", "<scenario dict>")) if isinstance(d, Mapping) else None,
        ) from None


def _probe_from_dict(data: Any) -> ProbeSpec | None:
    if data is None:
        return None
    probe: dict[str, Any] = dict(_build(dict, data, "probe"))
    probe["paths"] = tuple(probe.get("paths", DEFAULT_PROBE_PATHS))
    return ProbeSpec(**probe)


def _event_from_dict(data: Any) -> EventSpec:
    event: dict[str, Any] = dict(_build(dict, data, "events[]"))
    if event.get("faults") is not None:
        event["faults"] = copy.deepcopy(dict(event["faults"]))
    return EventSpec(**event)
