""" "Ready for the sale?" from a capacity result x the instances planned for it.

A run answers "Yes" only at its scenario's full size (:mod:`dhakacart_bench.analysis.scale`).
The other evidence at full size is a measured limit times a fleet: ``bench capacity``
found what one instance sustains with every SLO held; N such instances cover
``N x shoppers per instance`` shoppers, *if* they scale out linearly. The answer is
conservative on every figure it can be:

- shoppers per instance come from the **lower end** of the sustainable interval (the
  search's bracket: the limit lies between the last good and the first bad level, and
  only the good one held): ``floor(lower req/s / requests per shopper)``;
- the shoppers to cover are the scenario's reference size (100,000 for the flash sale),
  or the planned users when more;
- no level that did not hold is used, and nothing is extrapolated above the search.

What it cannot show is said in words beside the answer: linear scale-out, and the shared
database (and the sale's stock rows), which one instance's search does not load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dhakacart_bench.analysis.capacity_result import describe_store
from dhakacart_bench.errors import UsageError
from dhakacart_bench.humanize import fmt_rps
from dhakacart_bench.runfolder.capacity import CapacityMeta


@dataclass(frozen=True)
class Readiness:
    """The answer to "ready for the sale?" for ``instances`` instances of a measured one."""

    ready: bool
    instances: int
    #: the shoppers the answer must cover (the scenario's reference size, or more)
    target_users: int
    #: shoppers one instance holds, from the lower end of the sustainable interval
    shoppers_per_instance: int | None
    #: instances x shoppers_per_instance (None: the result gives no shopper figure)
    covered: int | None
    #: instances the target needs at that figure (None: cannot be said)
    instances_needed: int | None
    headline: str
    assumptions: tuple[str, ...]

    def lines(self) -> list[str]:
        out = [f"Ready for the sale? {self.headline}"]
        return out + [f"  - {a}" for a in self.assumptions]


def lower_rps(meta: CapacityMeta) -> float | None:
    """The sustainable req/s at the lower end of its interval (None: nothing held)."""
    if not meta.sustainable_rps:
        return None
    if meta.sustainable_rps_interval is None:
        return meta.sustainable_rps
    return min(meta.sustainable_rps, meta.sustainable_rps_interval[0])


def readiness(meta: CapacityMeta, *, instances: int, users: int | None = None) -> Readiness:
    """Whether ``instances`` instances cover the scenario's reference size (or ``users``,
    when more) by the capacity result ``meta``; UsageError if neither size is known."""
    target = max(users or 0, meta.reference_users or 0)
    if target <= 0:
        raise UsageError("no size to cover: the capacity result names none and no users given")
    sale = f"{target:,} shoppers"
    if meta.reference_users and target == meta.reference_users:
        sale = f"the {target:,} shoppers the {meta.scenario_name} scenario is written for"
    who = describe_store(meta.store, target=meta.target, host=meta.host)
    who = who[:1].lower() + who[1:]
    lower = lower_rps(meta)
    per_shopper = meta.requests_per_shopper
    assumptions = [
        "Instances scale out linearly behind a load balancer: shown for one instance, not "
        f"for {instances:,} side by side.",
        "The shared database (and the sale's stock rows every claim locks) was not "
        f"measured at {target:,} shoppers: one instance's search does not load it as "
        f"{instances:,} would. Measure it at full size before the sale.",
        "No headroom: at that load every SLO held with nothing to spare.",
    ]
    database = str((meta.store or {}).get("database", ""))
    if meta.target == "bundled" and database.lower().startswith("sqlite"):
        assumptions.append(
            "The measured instance used SQLite, which instances on different machines "
            "cannot share: the fleet needs one database server (PostgreSQL), which this "
            "search did not measure (`bench capacity --database-url` does)."
        )
    if meta.shares_machine:
        assumptions.append(
            "The instance shared its machine with the load generator during the search: "
            "on a machine of its own it may hold more (the answer is then conservative)."
        )
    if meta.status not in ("found", "budget", "errors"):
        assumptions.append(f"The search ended early ({meta.status}): {meta.stop_reason}.")
    if lower is None or not per_shopper:
        missing = (
            f"the search found no sustainable load (status {meta.status})"
            if lower is None
            else "the result has no requests per shopper (the think time could not be sampled)"
        )
        return Readiness(
            False,
            instances,
            target,
            None,
            None,
            None,
            f"Not shown — {missing}: no shopper figure to multiply by {instances:,} instances.",
            tuple(assumptions),
        )
    each = math.floor(lower / per_shopper)
    covered = instances * each
    needed = math.ceil(target / each) if each > 0 else None
    measured = (
        f"capacity measured by `bench capacity` on {meta.started_at[:10]}: {who} sustained "
        f"{fmt_rps(lower)} req/s with every SLO held, the lower end of its interval, at "
        f"{per_shopper:.3f} req/s per shopper"
    )
    fleet = f"{instances:,} instances \u00d7 \u2265{each:,} shoppers each ({measured})"
    if covered >= target:
        headline = f"Yes — {fleet} cover {sale} ({covered:,})."
    else:
        need = f"at least {needed:,} instances are needed" if needed else "no count covers it"
        headline = f"Not shown — {fleet} cover {covered:,} of {sale}: {need}."
    return Readiness(
        covered >= target,
        instances,
        target,
        each,
        covered,
        needed,
        headline,
        tuple(assumptions),
    )
