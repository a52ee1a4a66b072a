"""The capacity plan: store instances and load-generator workers for N shoppers.

``make_plan(run, users=N)`` turns a run's capacity into a plan via Little's law, with its
assumptions in words (docs/reports.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.capacity import evaluate_capacity
from dhakacart_bench.errors import UsageError

if TYPE_CHECKING:
    from dhakacart_bench.analysis.capacity import Capacity
    from dhakacart_bench.runfolder.reader import Run


SOCKET_USERS_PER_WORKER = 20_000
WORKER_CPU_CEILING = 0.8


@dataclass(frozen=True)
class Plan:
    """How many store instances and load-generator workers N shoppers need."""

    users: int
    per_user_rps: float
    cycle_s: float
    response_s: float
    think_s: float
    needed_rps: float
    instance_rps: float
    instance_rps_lower_bound: bool
    #: None when the run never reached a limit: it cannot say how many instances
    instances: int | None
    worker_rps: float | None
    workers: int
    assumptions: tuple[str, ...]
    #: what an unstressed run does show: one instance held at least this many shoppers
    at_least_shoppers: int | None = None

    def instances_line(self) -> str:
        if self.instances is None:
            return (
                "not measured: this run never reached a limit (one instance held at least "
                f"{self.at_least_shoppers or 0:,} shoppers, {self.instance_rps:,.0f} req/s); "
                "`bench capacity` measures the limit"
            )
        return f"{self.instances:,} at {self.instance_rps:,.0f} req/s each"

    def lines(self) -> list[str]:
        """The plan as printable lines, assumptions last."""
        out = [
            f"Plan for {self.users:,} concurrent shoppers",
            f"  request rate needed : {self.needed_rps:,.0f} req/s "
            f"({self.per_user_rps:.3f} req/s per shopper)",
            f"  store instances     : {self.instances_line()}",
            f"  load generators     : {self.workers:,} worker process(es)"
            + (f" at {self.worker_rps:,.0f} req/s each" if self.worker_rps else ""),
            "Assumptions:",
        ]
        return out + [f"  - {a}" for a in self.assumptions]


def _worker_rps(run: Run, ts: Any) -> tuple[float | None, str]:
    gen = run.meta.generator
    processes = max(1, gen.processes)
    if "gen_cpu_pct" in ts:
        busy = ts[(ts["gen_cpu_pct"] >= 10) & (ts["requests"] > 0)]
        if len(busy):
            per_core = float((busy["rps"] / (busy["gen_cpu_pct"] / 100)).median()) / processes
            return per_core * WORKER_CPU_CEILING, (
                f"{per_core:,.0f} req/s per fully busy generator process (median over "
                f"{len(busy):,} seconds of CPU samples)"
            )
    cpu = gen.cpu_pct_p50
    total_rps = run.summary.total.rps
    if cpu and total_rps:
        per_core = total_rps / (float(cpu) / 100) / processes
        return per_core * WORKER_CPU_CEILING, (
            f"{per_core:,.0f} req/s per fully busy generator process (run average)"
        )
    return None, "no generator CPU samples: worker count from the socket bound only"


def make_plan(
    run: Run, *, users: int, capacity: Capacity | None = None, utilisation: float = 0.8
) -> Plan:
    """Little's-law capacity plan for ``users`` concurrent shoppers (see docs/reports.md).

    Raises UsageError when the run completed no requests (nothing to plan from).
    """
    cap = capacity or evaluate_capacity(run)
    ts = run.timeseries()
    hold = cap.steady
    if hold is not None and hold.users > 0:
        # the run's one throughput figure: its steady hold, never ramp or surge bins
        per_user = hold.rps / hold.users
        resp = (hold.stats.mean_ms or 0.0) / 1000
        basis = f"the steady hold ({hold.users:,.0f} users for {hold.seconds} s)"
    else:
        total = run.summary.total
        peak = float(run.meta.users.peak or 1)
        per_user = total.rps / max(peak, 1.0)
        resp = (total.mean_ms or 0.0) / 1000
        basis = "the whole run (no steady level)"
    if per_user <= 0:
        raise UsageError(f"{run.path}: no requests completed in this run; nothing to plan from")
    cycle = 1 / per_user
    think = max(0.0, cycle - resp)
    needed = users * per_user
    candidates = []
    if cap.broke is not None and cap.held is not None:
        candidates.append(cap.held.rps)
    if cap.throughput_knee is not None:
        candidates.append(cap.throughput_knee.rps)
    lower_bound = not candidates
    fallback = cap.steady.rps if cap.steady is not None else cap.peak_rps
    instance_rps = min(candidates) if candidates else fallback
    instances = None
    if not lower_bound and instance_rps > 0:
        instances = math.ceil(needed / (instance_rps * utilisation))
    worker_rps, worker_basis = _worker_rps(run, ts)
    by_cpu = math.ceil(needed / worker_rps) if worker_rps else 0
    workers = max(1, by_cpu, math.ceil(users / SOCKET_USERS_PER_WORKER))
    assumptions = [
        f"Shoppers behave as in this run: {per_user:.3f} req/s each, measured as throughput "
        f"÷ users over {basis}. By Little's law (N = X·(R+Z)) that is a {cycle:.2f} s cycle: "
        f"{resp * 1000:.0f} ms response + {think:.2f} s think time.",
        "Response times stay as measured at those levels (true only below the knee; past it, "
        "a closed-loop shopper sends less, hiding demand).",
        f"One instance = the target as deployed in this run ({run.meta.target} "
        f"store at {run.meta.host}); instances scale linearly behind a load "
        "balancer with no shared bottleneck — a shared database usually is one: test it.",
        f"Per-instance capacity {instance_rps:,.0f} req/s is "
        + (
            "a LOWER BOUND: this run never found the limit, so it gives no instance count "
            "(capacity is measured, never extrapolated: `bench capacity` finds it)."
            if lower_bound
            else "the throughput at the knee (the highest level where the SLOs held and "
            "throughput still grew)."
        ),
        f"Instances are planned at {utilisation:.0%} of that capacity (headroom).",
        f"Load generators: {worker_basis}; planned at ≤ {WORKER_CPU_CEILING:.0%} CPU, and at "
        f"most {SOCKET_USERS_PER_WORKER:,} users per worker process (socket bound).",
    ]
    if run.meta.generator.saturated:
        assumptions.append(
            "The generator was saturated in this run: its per-process "
            "figure is uncertain; re-measure with more workers."
        )
    if run.workload_model == "open":
        assumptions.append(
            "Open workload: 'users' are shoppers in flight; the request "
            "rate per shopper comes from the arrival rate actually served."
        )
    return Plan(
        users,
        per_user,
        cycle,
        resp,
        think,
        needed,
        instance_rps,
        lower_bound,
        instances,
        worker_rps,
        workers,
        tuple(assumptions),
        at_least_shoppers=int(run.meta.users.peak) if lower_bound else None,
    )
