"""Serialise."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.scenario.model import (
    DEFAULT_PROBE_PATHS,
    SLO,
    EventSpec,
    GateSpec,
    LoadSpec,
    ProbeSpec,
    Scenario,
    Stage,
    StoreSpec,
    UserSpec,
)

if TYPE_CHECKING:
    from dhakacart_bench.scenario.tables import T


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
