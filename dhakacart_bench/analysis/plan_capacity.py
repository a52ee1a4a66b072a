"""The capacity plan from a measured limit (``bench capacity``'s capacity.json).

Instances = ceil(planned load / sustainable load per instance), with the interval the
search's bracket gives (the limit lies between the last good and the first bad level);
planned load = shoppers x requests per shopper (Little's law, steady state). Load
generators from the generator's measured CPU per request. The assumptions are said in
words: what scales out, what is shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dhakacart_bench.analysis.capacity_result import describe_store
from dhakacart_bench.errors import UsageError
from dhakacart_bench.humanize import fmt_rps
from dhakacart_bench.runfolder.capacity import CapacityMeta

#: A generator process is planned at no more than this share of one core.
WORKER_CPU_CEILING = 0.8
#: ... and at most this many users (the socket bound of one process).
SOCKET_USERS_PER_WORKER = 20_000


@dataclass(frozen=True)
class CapacityPlan:
    """Store instances and load-generator workers for ``users`` shoppers."""

    users: int
    per_shopper_rps: float
    needed_rps: float
    instance_rps: float
    instance_rps_interval: tuple[float, float] | None
    instances: int
    instances_interval: tuple[int, int] | None
    worker_rps: float | None
    workers: int
    assumptions: tuple[str, ...]

    def lines(self) -> list[str]:
        spread = ""
        if self.instances_interval is not None:
            lo, hi = self.instances_interval
            spread = f" ({lo:,}-{hi:,})" if lo != hi else ""
        out = [
            f"Plan for {self.users:,} concurrent shoppers (from a capacity search)",
            f"  request rate needed : {self.needed_rps:,.0f} req/s "
            f"({self.per_shopper_rps:.3f} req/s per shopper)",
            f"  store instances     : {self.instances:,}{spread} at "
            f"{fmt_rps(self.instance_rps)} req/s each (sustainable, every SLO held)",
            f"  load generators     : {self.workers:,} worker process(es)"
            + (f" at {self.worker_rps:,.0f} req/s each" if self.worker_rps else ""),
            "Assumptions:",
        ]
        return out + [f"  - {a}" for a in self.assumptions]


def plan_from_capacity(meta: CapacityMeta, *, users: int) -> CapacityPlan:
    """The plan for ``users`` shoppers from a capacity result; UsageError when the search
    found no sustainable load or cannot say what one shopper sends."""
    if not meta.sustainable_rps:
        raise UsageError(
            "this capacity search found no sustainable load (status "
            f"{meta.status}): nothing to plan from"
        )
    if not meta.requests_per_shopper:
        raise UsageError(
            "this capacity result has no requests per shopper (the scenario's think time "
            "could not be sampled): nothing to plan shoppers from"
        )
    per_shopper = meta.requests_per_shopper
    needed = users * per_shopper
    sustainable = meta.sustainable_rps
    instances = max(1, math.ceil(needed / sustainable))
    interval = None
    if meta.sustainable_rps_interval is not None:
        lo_rps, hi_rps = meta.sustainable_rps_interval
        interval = (max(1, math.ceil(needed / hi_rps)), max(1, math.ceil(needed / lo_rps)))
    worker_rps = None
    cpu_ms = meta.generator_cpu_ms_per_request
    if cpu_ms:
        worker_rps = WORKER_CPU_CEILING * 1000.0 / cpu_ms
    by_cpu = math.ceil(needed / worker_rps) if worker_rps else 0
    workers = max(1, by_cpu, math.ceil(users / SOCKET_USERS_PER_WORKER))
    who = describe_store(meta.store, target=meta.target, host=meta.host)
    assumptions = [
        f"One instance = what the search measured: {who}, sustaining "
        f"{fmt_rps(sustainable)} req/s with every SLO held"
        + (
            f" (the limit lies between {fmt_rps(meta.sustainable_rps_interval[0])} and "
            f"{fmt_rps(meta.sustainable_rps_interval[1])} req/s; the instance range follows it)"
            if meta.sustainable_rps_interval
            else ""
        )
        + ".",
        f"A shopper sends {per_shopper:.3f} req/s (Little's law in steady state: "
        f"{meta.requests_per_arrival or 0:.2f} requests per task, the scenario's "
        f"{meta.think_s or 0:.2f} s think time between tasks).",
        "Store instances scale out linearly behind a load balancer. What they share does "
        "not: the database (one SQLite file cannot be shared at all; one PostgreSQL "
        "server serves every instance) and the flash-sale stock rows every claim locks. "
        "Measure the shared database at the planned size before trusting the count.",
        "No headroom is added: at the sustainable load every SLO held, with nothing to spare.",
        (
            f"Load generators: {cpu_ms:.2f} CPU-ms per request measured on the generator, "
            f"planned at {WORKER_CPU_CEILING:.0%} of a core and at most "
            f"{SOCKET_USERS_PER_WORKER:,} users per worker process."
            if cpu_ms
            else "Load generators: no CPU measurement; from the socket bound only "
            f"({SOCKET_USERS_PER_WORKER:,} users per worker process)."
        ),
    ]
    if meta.shares_machine:
        assumptions.append(
            "The target shared its machine with the load generator during the search: on a "
            "machine of its own one instance may sustain more (the count is then high)."
        )
    if meta.status != "found":
        assumptions.append(f"The search ended early ({meta.status}): {meta.stop_reason}.")
    return CapacityPlan(
        users=users,
        per_shopper_rps=per_shopper,
        needed_rps=needed,
        instance_rps=sustainable,
        instance_rps_interval=meta.sustainable_rps_interval,
        instances=instances,
        instances_interval=interval,
        worker_rps=worker_rps,
        workers=workers,
        assumptions=tuple(assumptions),
    )
