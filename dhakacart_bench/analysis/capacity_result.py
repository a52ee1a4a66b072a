"""The answer of a capacity search: the sustainable load, its bracket, where and why it
broke, the bottleneck endpoint, shoppers per instance — in numbers and in words.

:func:`summarise` turns the judged levels (:mod:`dhakacart_bench.analysis.capacity_level`)
into the :class:`~dhakacart_bench.runfolder.capacity.CapacityMeta` written as
``capacity.json``; :func:`capacity_exit_code` is the command's exit code.

Shoppers: a level measures requests per *arrival* (one task of a user, in the open
model, with no think time). A shopper of the scenario (closed model) runs those tasks
one after another with its think time between: by Little's law one shopper sends
``requests per arrival / (requests per arrival x mean response + think time)`` requests
per second, in steady state. Shoppers per instance = sustainable req/s / that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from dhakacart_bench.analysis.capacity_search import (
    SearchPlan,
    bracket,
    counts,
    requests_per_arrival,
)
from dhakacart_bench.humanize import fmt_duration_words, fmt_ms, fmt_rps
from dhakacart_bench.runfolder.capacity import CapacityLevel, CapacityMeta

EXIT_FOUND, EXIT_NOT_HELD, EXIT_NOT_CARRIED_OUT = 0, 1, 3
#: Endpoints with fewer requests at a level are not candidates for the bottleneck.
MIN_BOTTLENECK_REQUESTS = 20


def _tries(
    levels: Sequence[CapacityLevel], rate: float | None, plan: SearchPlan
) -> list[CapacityLevel]:
    return [lv for lv in levels if rate is not None and lv.rate == rate and counts(lv, plan)]


def bottleneck(good: CapacityLevel | None, bad: CapacityLevel | None) -> str | None:
    """The endpoint that limits: the one named by the broken SLO, else the one whose p95
    grew the most from the good level to the bad one."""
    if bad is None:
        return None
    for words in bad.broken:
        for endpoint in sorted(bad.endpoints, key=len, reverse=True):
            if words.startswith(endpoint + " "):
                return endpoint
    best, best_ratio = None, 0.0
    for endpoint, row in bad.endpoints.items():
        before = good.endpoints.get(endpoint) if good is not None else None
        if row.requests < MIN_BOTTLENECK_REQUESTS or row.p95_ms is None:
            continue
        base = before.p95_ms if before is not None and before.p95_ms else None
        ratio = row.p95_ms / base if base else row.p95_ms
        if ratio > best_ratio:
            best, best_ratio = endpoint, ratio
    return best


def shopper_rate(rpa: float | None, mean_ms: float | None, think_s: float | None) -> float | None:
    """Requests per second one closed-model shopper sends (Little's law, see above)."""
    if rpa is None or mean_ms is None or think_s is None or rpa <= 0:
        return None
    cycle = rpa * mean_ms / 1000.0 + think_s
    return rpa / cycle if cycle > 0 else None


def describe_store(store: Mapping[str, Any] | None, *, target: str, host: str) -> str:
    if target != "bundled" or not store:
        return f"The target at {host}"
    database = store.get("database", "SQLite")
    kind = store.get("worker_class", "gthread")
    return (
        f"One store instance ({store.get('workers')} gunicorn {kind} workers \u00d7 "
        f"{store.get('threads')} threads, {database})"
    )


def _headline(
    meta: CapacityMeta, good: CapacityLevel | None, scenario_name: str, why: str | None
) -> str:
    who = describe_store(meta.store, target=meta.target, host=meta.host)
    parts: list[str] = []
    lo, hi = meta.sustainable_rps_interval or (None, None)
    if not meta.levels:
        parts.append(f"{who}: no load level could be run ({meta.stop_reason}).")
    elif good is None:
        first = min(meta.levels, key=lambda lv: lv.rate)
        why = "; ".join(first.broken)
        rate = f" ({fmt_rps(first.rate)} arrivals/s)"
        parts.append(
            f"{who} did not hold even the lowest level tried{rate}: {why}. "
            "Start lower (--start-rate)."
        )
    else:
        bracket_words = (
            f" (limit between {fmt_rps(lo)} and {fmt_rps(hi)})" if lo is not None else ""
        )
        shoppers = (
            f" — ≈ {meta.shoppers_per_instance:,} {scenario_name} shoppers"
            if meta.shoppers_per_instance
            else ""
        )
        at_least = "at least " if meta.breaking_rps is None else ""
        parts.append(
            f"{who} sustains {at_least}{fmt_rps(meta.sustainable_rps)} req/s{bracket_words} "
            f"with every SLO held{shoppers}"
            + (
                f"; at {fmt_rps(meta.breaking_rps)} req/s {why or meta.breaking_reason}."
                if meta.breaking_rps is not None
                else "."
            )
        )
    if meta.status in ("generator", "errors"):
        parts.append(f"Stopped: {meta.stop_reason}.")
        if meta.status == "errors" and good is not None:
            parts.append(
                f"The figures are the bracket reached, not narrowed to {meta.resolution:.0%}."
            )
    elif meta.status == "budget":
        parts.append(
            f"The budget ({fmt_duration_words(meta.budget_s)}) ended before the search "
            f"narrowed the limit to {meta.resolution:.0%}: the figures are the bracket reached."
        )
    elif meta.status == "interrupted":
        parts.append(f"Interrupted ({meta.stop_reason}): the figures are the bracket reached.")
    if meta.shares_machine:
        parts.append(
            "Measured beside the load generator on this machine: that is the target's "
            "capacity while sharing its cores, not on a machine of its own."
        )
    return " ".join(parts)


def summarise(
    levels: Sequence[CapacityLevel],
    *,
    plan: SearchPlan,
    scenario_name: str,
    started_at: str,
    host: str,
    target: str,
    shares_machine: bool,
    status: str,
    stop_reason: str | None = None,
    store: Mapping[str, Any] | None = None,
    arrival: str = "poisson",
    generator_processes: int = 1,
    think_s: float | None = None,
    budget_s: float = 0.0,
    elapsed_s: float = 0.0,
    reference_users: int | None = None,
) -> CapacityMeta:
    """capacity.json from the judged levels and how the search ended."""
    lo_rate, hi_rate = bracket(levels, plan)
    good_tries, bad_tries = _tries(levels, lo_rate, plan), _tries(levels, hi_rate, plan)
    good = max(good_tries, key=lambda lv: lv.index) if good_tries else None
    bad = next((lv for lv in bad_tries if not lv.held), None)
    held = [lv for lv in levels if lv.held and lv.rate and lv.requests]
    rpa = requests_per_arrival(levels)
    # The sustainable load is the offered load that held: the rate the search set
    # (exact) times the requests one arrival makes. A level's completed req/s over a few
    # seconds is noisier (requests in flight at the window's edges, generator lag).
    sustainable = interval = breaking_rps = None
    if good_tries:
        sustainable = lo_rate * rpa if rpa and lo_rate else None
    if bad is not None:
        breaking_rps = round(rpa * bad.rate if rpa else bad.offered_rps, 3)
        if sustainable is not None:
            interval = (round(sustainable, 3), breaking_rps)
    mean_ms = None
    if good_tries and all(lv.mean_ms is not None for lv in good_tries):
        mean_ms = sum(lv.mean_ms or 0.0 for lv in good_tries) / len(good_tries)
    per_shopper = shopper_rate(rpa, mean_ms, think_s)
    shoppers = math.floor(sustainable / per_shopper) if sustainable and per_shopper else None
    cpu = sorted(
        lv.generator_cpu_ms_per_request
        for lv in held
        if lv.generator_cpu_ms_per_request is not None and lv.generator_cpu_pct >= 5
    )
    if status == "found" and bad is None:
        status = "budget"
    if status == "found" and good is None:
        status = "not_held"
    meta = CapacityMeta(
        scenario_name=scenario_name,
        started_at=started_at,
        host=host,
        target=target,
        shares_machine=shares_machine,
        status=status,
        stop_reason=stop_reason,
        store=dict(store) if store else None,
        arrival=arrival,
        generator_processes=generator_processes,
        budget_s=budget_s,
        resolution=plan.resolution,
        elapsed_s=round(elapsed_s, 1),
        sustainable_rate=lo_rate,
        sustainable_rps=None if sustainable is None else round(sustainable, 3),
        sustainable_rps_interval=interval,
        breaking_rate=hi_rate,
        breaking_rps=breaking_rps,
        breaking_reason="; ".join(bad.broken) if bad is not None else None,
        bottleneck_endpoint=bottleneck(good, bad),
        requests_per_arrival=None if rpa is None else round(rpa, 4),
        requests_per_shopper=None if per_shopper is None else round(per_shopper, 5),
        think_s=think_s,
        shoppers_per_instance=shoppers,
        reference_users=reference_users,
        generator_cpu_ms_per_request=cpu[len(cpu) // 2] if cpu else None,
        levels=tuple(levels),
    )
    # the headline names the first thing that broke; capacity.json keeps them all
    first = bad.broken[0] if bad is not None and bad.broken else None
    return replace(meta, headline=_headline(meta, good, scenario_name, first))


def capacity_exit_code(meta: CapacityMeta) -> int:
    """0 a limit was found (within the resolution, or a bracket when the budget ended or
    errors stopped the search); 1 not even the lowest level held (errors there included);
    3 the search could not find one (generator saturated, interrupted, budget over before
    any level broke)."""
    if meta.status == "not_held" or (meta.status == "errors" and meta.sustainable_rps is None):
        return EXIT_NOT_HELD
    if meta.sustainable_rps is not None and meta.breaking_rps is not None:
        found = ("found", "budget", "levels", "errors")
        return EXIT_FOUND if meta.status in found else EXIT_NOT_CARRIED_OUT
    return EXIT_NOT_CARRIED_OUT


def knee_words(meta: CapacityMeta) -> list[str]:
    """Short lines for the terminal: the bracket, the bottleneck, the shoppers."""
    lines = [meta.headline]
    if meta.bottleneck_endpoint:
        lines.append(f"Bottleneck: {meta.bottleneck_endpoint}.")
    if meta.requests_per_shopper:
        lines.append(
            f"A {meta.scenario_name} shopper sends {meta.requests_per_shopper:.3f} req/s "
            f"(Little's law: {meta.requests_per_arrival:.2f} requests per task at "
            f"{fmt_ms(_good_mean(meta))} each, {meta.think_s:.2f} s think time)."
        )
    return lines


def _good_mean(meta: CapacityMeta) -> float | None:
    tries = [lv for lv in meta.levels if lv.rate == meta.sustainable_rate and lv.held]
    return tries[-1].mean_ms if tries else None
