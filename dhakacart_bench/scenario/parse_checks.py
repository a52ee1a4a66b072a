"""Parsing a scenario's checks: ``[[slo]]``, ``[gate]``, ``[probe]`` and ``[[events]]``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dhakacart_bench.humanize import fmt_number, format_duration
from dhakacart_bench.scenario.metrics import (
    ALL_ENDPOINTS,
    METRICS,
    RELIABILITY_METRICS,
    default_slo_name,
)
from dhakacart_bench.scenario.model import (
    DEFAULT_COMMAND_TIMEOUT_S,
    DEPLOY_STRATEGIES,
    EVENT_ACTIONS,
    SLO,
    EventSpec,
    GateSpec,
    ProbeSpec,
)
from dhakacart_bench.scenario.tables import show

if TYPE_CHECKING:
    from dhakacart_bench.scenario.tables import Table


_SLO_KEYS = ("name", "metric", "endpoint", "max", "min")
_GATE_KEYS = (
    "p95_regression_pct",
    "endpoints",
    "min_requests",
    "ab_instance_spread_pct",
    "ab_reconnect_every",
)
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


def parse_slos(top: Table, *, probe: ProbeSpec | None = None) -> tuple[SLO, ...]:
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
                item.fail("min", f"expected min <= max ({fmt_number(max_)}), got {min_:g}")
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


def _parse_reliability_slo(
    item: Table, metric: str, probe: ProbeSpec | None
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
                f"got {show(endpoint)}",
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


def parse_gate(top: Table) -> GateSpec:
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
            f'expected a non-empty array of endpoint names such as ["*"], got {show(endpoints)}',
        )
    return GateSpec(
        p95_regression_pct=gate.number("p95_regression_pct", defaults.p95_regression_pct),
        endpoints=tuple(endpoints),
        min_requests=gate.integer("min_requests", defaults.min_requests, minimum=0),
        ab_instance_spread_pct=gate.number(
            "ab_instance_spread_pct", defaults.ab_instance_spread_pct, at_most=100
        ),
        ab_reconnect_every=gate.integer(
            "ab_reconnect_every", defaults.ab_reconnect_every, minimum=0
        ),
    )


def parse_probe(top: Table) -> ProbeSpec | None:
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
            f'["/health", "/api/products/1"], got {show(paths)}',
        )
    if len(set(paths)) != len(paths):
        probe.fail("paths", f"expected each path once, got {show(paths)}")
    interval = probe.duration("interval", defaults.interval_s)
    timeout = probe.duration("timeout", defaults.timeout_s)
    slo_pct = probe.number("slo_pct", defaults.slo_pct, positive=True, at_most=100.0)
    if slo_pct <= 0:
        probe.fail("slo_pct", f"expected a percentage above 0 and at most 100, got {slo_pct:g}")
    return ProbeSpec(interval_s=interval, paths=tuple(paths), timeout_s=timeout, slo_pct=slo_pct)


def parse_events(top: Table, *, length_s: float, host: str | None) -> tuple[EventSpec, ...]:
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
                f'{show(host)}; use action = "command" to act on another target',
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
                shown = "nothing" if faults is None else show(faults)
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
