"""The scenario model: frozen dataclasses for users, load, store, SLOs, gate rules,
probe and events, and the scenario's own operations (scaling to a size, squeezing into a
duration, adding a deploy command, its dict round trip).

``Scenario.to_dict()`` is what run.json holds; :func:`scenario_from_dict` turns it back,
checking every value's type (msgspec) and naming the key that is wrong.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
import msgspec.json

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.humanize import format_duration, plural
from dhakacart_bench.scenario.metrics import ALL_ENDPOINTS

Model = Literal["closed", "open"]
Arrival = Literal["poisson", "uniform"]
DEFAULT_MODEL: Model = "closed"
DEFAULT_ARRIVAL: Arrival = "poisson"
MODELS: tuple[str, ...] = ("closed", "open")
ARRIVALS: tuple[str, ...] = ("poisson", "uniform")
#: What ``[[events]]`` can do; all but ``command`` need the bundled store.
EVENT_ACTIONS: tuple[str, ...] = ("deploy", "command", "kill-worker", "faults", "clear-faults")
DEPLOY_STRATEGIES: tuple[str, ...] = ("rolling", "restart")
DEFAULT_PROBE_INTERVAL_S = 0.5
DEFAULT_PROBE_PATHS: tuple[str, ...] = ("/health", "/api/products/1")
DEFAULT_PROBE_TIMEOUT_S = 2.0
DEFAULT_PROBE_SLO_PCT = 99.9
DEFAULT_COMMAND_TIMEOUT_S = 120.0


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
class CandidateSpec:
    """What an A/B run's bundled candidate changes from the baseline store
    (``[candidate]``; ``--candidate-faults`` / ``--candidate-store-workers`` override it)."""

    faults: Mapping[str, Any] | None = field(default=None, hash=False)
    store_workers: int | None = None


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
    #: A/B runs: how far two identical instances' p95s differ for a whole run, in
    #: percent (sd of the log ratio, from A/A runs: ``bench calibrate``); added to
    #: every A/B p95 interval. 0: the intervals cover the noise within the run only.
    ab_instance_spread_pct: float = 0.0
    #: A/B runs: each user closes its connection after every N requests (0: one
    #: keep-alive connection per user for the whole session), so how each arm's
    #: connections split over its server's worker processes is drawn many times a run
    ab_reconnect_every: int = 0


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
        return dict(msgspec.json.decode(msgspec.json.encode(self)))


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
    #: The bundled candidate's changes in an A/B run (``bench run --against``).
    candidate: CandidateSpec | None = None
    #: A ``LoadTestShape`` class of the locustfile that drives the load (``bench run -f``);
    #: ``load.stages`` is then its plan, read by ticking it on a simulated clock.
    shape_class: str | None = None

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

    def held_to(self, seconds: float) -> Scenario:
        """Return a copy that lasts ``seconds``, the load held at its last level.

        One stage is inserted after the last stage with load (users in a closed model,
        an arrival rate in an open one): it keeps that stage's users or rate, constant,
        for the time missing to ``seconds``; the stages after it (a ramp down) follow
        unchanged, and so do events. A scenario already that long is returned unchanged.
        Used when an A/B run's time budget (``--max-duration``) is longer than the scenario.
        """
        if isinstance(seconds, bool) or not seconds > 0 or not math.isfinite(seconds):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        extra = seconds - self.load.duration_s
        stages = self.load.stages
        loaded = [i for i, st in enumerate(stages) if (st.users or st.arrival_rate)]
        if extra <= 1e-9 or not loaded:
            return self
        at = loaded[-1]
        last = stages[at]
        hold = Stage(duration_s=extra, users=last.users, arrival_rate=last.arrival_rate)
        load = dataclasses.replace(self.load, stages=(*stages[: at + 1], hold, *stages[at + 1 :]))
        return dataclasses.replace(self, load=load)

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
            f"{plural(len(load.stages), 'stage')}, {classes}, {plural(len(self.slos), 'SLO')}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what run.json holds); :func:`scenario_from_dict` inverts it."""
        return dict(msgspec.json.decode(msgspec.json.encode(self, enc_hook=encode_path)))


def encode_path(value: Any) -> Any:
    """msgspec ``enc_hook``: paths as strings."""
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def decode_path(kind: type, value: Any) -> Any:
    """msgspec ``dec_hook``: strings as paths; anything else in a path field is invalid."""
    if kind is not Path:
        raise NotImplementedError(f"cannot decode {kind}")
    if not isinstance(value, str):  # msgspec turns this into a ValidationError naming the field
        raise ValueError(f"expected a path string, got {type(value).__name__}")
    return Path(value)


def scenario_from_dict(data: Any) -> Scenario:
    """Rebuild a Scenario from :meth:`Scenario.to_dict` output (e.g. from ``run.json``).

    Every value is checked against its type (no locustfile check: the file may be on
    another machine); a dict of the wrong shape raises ScenarioError naming the key.
    """
    try:
        return msgspec.convert(data, Scenario, dec_hook=decode_path)
    except msgspec.ValidationError as exc:
        message, _, key = str(exc).partition(" - at `$")
        path = data.get("path") if isinstance(data, Mapping) else None
        raise ScenarioError(
            f"not a scenario as Scenario.to_dict() writes it: {message}",
            path=str(path) if isinstance(path, str) else None,
            key=key.rstrip("`").lstrip(".") or None,
        ) from None


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
