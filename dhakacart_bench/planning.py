"""Capacity: load levels, the knee, Gunther's USL fit, and the capacity plan.

``evaluate_capacity(run)`` groups the per-second time series by concurrent-user level
(the steps of a stepped run, or bins of a ramp), merges each level's window histograms
for exact percentiles, finds the highest level at which the latency/error SLOs held and
where throughput stops growing, fits the Universal Scalability Law and says it all in
plain words. ``make_plan(run, users=N)`` turns that into instances and load-generator
workers via Little's law. The maths is in :func:`fit_usl` and :func:`find_knee`, which
take plain numbers. Method and limits: docs/reports.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis import (
    LATENCY_METRICS,
    METRIC_LABEL,
    HistStats,
    fmt_ms,
    fmt_pct,
    fmt_value,
    hist_stats,
    scenario_slos,
)
from dhakacart_bench.errors import UsageError

if TYPE_CHECKING:
    from dhakacart_bench.runfolder import Run

MIN_STEP_S = 3
"""A users value held this many seconds or more counts as a step."""
RAMP_BINS = 12
KNEE_FRACTION = 0.15
#: A throughput plateau is saturation only if response times rose past it: at
#: least this factor over the best level before it, and by at least
#: KNEE_MIN_RISE_MS. (Flat throughput at flat latency means the users asked for
#: no more — think time, a change of user mix — not that the store could give
#: no more: X = N / (R + Z) grows with N while R stays put.)
KNEE_LATENCY_RISE = 2.0
KNEE_MIN_RISE_MS = 5.0
"""Throughput "stops growing" when the marginal gain per added user falls below this
fraction of the initial per-user throughput."""
MIN_LEVEL_REQUESTS = 50
"""Levels with fewer requests are shown but left out of the knee and the USL fit."""
MIN_USL_LEVELS = 4
MIN_USL_R2 = 0.9
BOOTSTRAP = 200
KAPPA_EPS = 1e-9
SOCKET_USERS_PER_WORKER = 20_000
WORKER_CPU_CEILING = 0.8


@dataclass(frozen=True)
class Level:
    """One concurrent-user level of the run, with exact merged percentiles."""

    users: float
    seconds: int
    requests: int
    failures: int
    rps: float
    error_rate: float
    stats: HistStats
    held: bool | None
    broken: tuple[str, ...]


@dataclass(frozen=True)
class UslFit:
    """The USL fit X(N) = lam*N / (1 + sigma*(N-1) + kappa*N*(N-1)), or why there is none."""

    ok: bool
    reason: str
    lam: float | None = None
    sigma: float | None = None
    kappa: float | None = None
    r2: float | None = None
    n_star: float | None = None
    ceiling_rps: float | None = None
    n_star_interval: tuple[float, float] | None = None
    ceiling_interval: tuple[float, float] | None = None
    extrapolated: bool = False

    def predict(self, n: float) -> float:
        """Modelled throughput at ``n`` users (requires a fit)."""
        assert self.lam is not None and self.sigma is not None and self.kappa is not None
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))


@dataclass(frozen=True)
class Capacity:
    """What the run says about capacity, in numbers and in one plain sentence."""

    mode: str  # "steps" | "ramp" | "none"
    levels: tuple[Level, ...]
    held: Level | None
    broke: Level | None
    throughput_knee: Level | None
    peak_rps: float
    headline: str
    supported: bool
    usl: UslFit


# ---------------------------------------------------------------- USL and knee


def _lstsq_usl(n: Any, x: Any) -> tuple[float, float, float] | None:
    """Weighted linearised least squares with sigma, kappa >= 0 (best feasible active set)."""
    import numpy as np

    y = n / x
    a_full = np.column_stack([np.ones_like(n), n - 1, n * (n - 1)])
    w = x * x / n  # first-order weights: residuals in N/X scaled back to X units
    best, best_sse = None, math.inf
    for cols in ((0, 1, 2), (0, 2), (0, 1), (0,)):
        a = a_full[:, cols]
        coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
        if coef[0] <= 0 or any(c < 0 for c in coef[1:]):
            continue
        full = np.zeros(3)
        full[list(cols)] = coef
        sse = float(((x - n / (a_full @ full)) ** 2).sum())
        if sse < best_sse:
            best, best_sse = full, sse
    if best is None:
        return None
    lam = 1 / best[0]
    return float(lam), float(best[1] * lam), float(best[2] * lam)


def fit_usl(
    users: Sequence[float], rps: Sequence[float], *, bootstrap: int = BOOTSTRAP, seed: int = 0
) -> UslFit:
    """Fit Gunther's USL to (users, throughput) levels; estimate N* and the ceiling.

    Returns ``ok=False`` with the reason when fewer than 4 levels, when κ ≈ 0 (the
    run never saturated, so the data bound no ceiling), or when R² < 0.9. The 90%
    intervals come from ``bootstrap`` resamples of the levels.
    """
    import numpy as np

    n = np.asarray(users, dtype=float)
    x = np.asarray(rps, dtype=float)
    keep = (n > 0) & (x > 0)
    n, x = n[keep], x[keep]
    if len(np.unique(n)) < MIN_USL_LEVELS:
        return UslFit(
            False,
            f"needs at least {MIN_USL_LEVELS} load levels with traffic; "
            f"this run has {len(np.unique(n))}",
        )
    params = _lstsq_usl(n, x)
    if params is None:
        return UslFit(False, "the throughput curve does not have the USL's shape")
    lam, sigma, kappa = params
    pred = lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    sst = float(((x - x.mean()) ** 2).sum())
    r2 = 1 - float(((x - pred) ** 2).sum()) / sst if sst > 0 else 0.0
    if r2 < MIN_USL_R2:
        why = f"the fit is poor (R² = {r2:.2f} < {MIN_USL_R2})"
        return UslFit(False, why, lam=lam, sigma=sigma, kappa=kappa, r2=r2)
    if kappa < KAPPA_EPS or sigma >= 1:
        why = (
            "throughput never bent downward in the tested range (κ ≈ 0): "
            "the ceiling is higher than this data can bound"
        )
        return UslFit(False, why, lam=lam, sigma=sigma, kappa=kappa, r2=r2)
    n_star = math.sqrt((1 - sigma) / kappa)
    ceiling = lam * n_star / (1 + sigma * (n_star - 1) + kappa * n_star * (n_star - 1))
    rng = np.random.default_rng(seed)
    stars, ceilings = [], []
    for _ in range(bootstrap):
        idx = rng.integers(0, len(n), len(n))
        if len(np.unique(n[idx])) < 3:
            continue
        p = _lstsq_usl(n[idx], x[idx])
        if p is None or p[2] < KAPPA_EPS or p[1] >= 1:
            continue
        s = math.sqrt((1 - p[1]) / p[2])
        stars.append(s)
        ceilings.append(p[0] * s / (1 + p[1] * (s - 1) + p[2] * s * (s - 1)))
    n_int = c_int = None
    if len(stars) >= bootstrap // 2:
        n_int = (float(np.percentile(stars, 5)), float(np.percentile(stars, 95)))
        c_int = (float(np.percentile(ceilings, 5)), float(np.percentile(ceilings, 95)))
    extrapolated = n_star > 1.5 * float(n.max())
    reason = "fitted" + (
        " (N* lies beyond the tested range: an extrapolation)" if extrapolated else ""
    )
    return UslFit(
        True,
        reason,
        n_star=n_star,
        ceiling_rps=ceiling,
        n_star_interval=n_int,
        ceiling_interval=c_int,
        extrapolated=extrapolated,
        lam=lam,
        sigma=sigma,
        kappa=kappa,
        r2=r2,
    )


def find_knee(
    users: Sequence[float], rps: Sequence[float], fraction: float = KNEE_FRACTION
) -> int | None:
    """Index of the last level before throughput stops growing, or None if it never does.

    The initial slope is the first level's throughput per user; throughput "stops
    growing" at the first step whose marginal gain per added user is below
    ``fraction`` of it *and* stays so: the best throughput of every later level,
    per user added since, is below that too, over at least two higher levels (one
    noisy flat step, or a short last level, is not a knee).
    """
    if len(users) < 2 or users[0] <= 0 or rps[0] <= 0:
        return None
    slope0 = rps[0] / users[0]
    for i in range(1, len(users) - 1):
        added = users[i] - users[i - 1]
        if added <= 0 or (rps[i] - rps[i - 1]) / added >= fraction * slope0:
            continue
        later = all(
            (rps[j] - rps[i - 1]) / (users[j] - users[i - 1]) < fraction * slope0
            for j in range(i, len(users))
            if users[j] > users[i - 1]
        )
        if later:
            return i - 1
    return None


# ---------------------------------------------------------------- levels of a run


def _group_seconds(ts: Any) -> tuple[str, dict[int, float]]:
    """Map each active second to a level key (users value of a step, or a ramp bin)."""
    import numpy as np

    active = ts[(ts["users"] > 0)]
    if active.empty:
        return "none", {}
    users = active["users"].round().astype(int)
    held = users.value_counts()
    steps = held[held >= MIN_STEP_S]
    if 0 < len(steps) <= 40 and steps.sum() >= 0.6 * len(users):
        keep = users.isin(steps.index)
        pairs = zip(active["second"][keep], users[keep], strict=True)
        return "steps", {int(s): float(u) for s, u in pairs}
    lo, hi = float(users.min()), float(users.max())
    if hi == lo:
        return "steps", {int(s): lo for s in active["second"]}
    edges = np.linspace(lo, hi, RAMP_BINS + 1)
    bins = np.clip(np.digitize(users, edges) - 1, 0, RAMP_BINS - 1)
    return "ramp", {int(s): float(b) for s, b in zip(active["second"], bins, strict=True)}


def _level_checks(slos: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        s
        for s in slos
        if s.get("metric") in LATENCY_METRICS
        or (s.get("metric") == "error_rate" and (s.get("endpoint") or "*") == "*")
    ]


def load_levels(run: Run) -> tuple[str, list[Level]]:
    """The run's load levels, lowest users first, with exact merged percentiles.

    Each level is checked against the scenario's latency and (total) error-rate SLOs.
    """
    from hdrh.histogram import HdrHistogram

    ts = run.timeseries()
    mode, key_of = _group_seconds(ts)
    if not key_of:
        return "none", []
    checks = _level_checks(scenario_slos(run.meta))
    wanted = {str(c.get("endpoint") or "*") for c in checks} - {"*"}
    acc: dict[float, dict[str, Any]] = {}
    for second, hists in run.iter_windows():
        key = key_of.get(second)
        if key is None:
            continue
        slot = acc.setdefault(key, {})
        for endpoint, h in hists.items():
            for name in ("*", endpoint) if endpoint in wanted else ("*",):
                if name not in slot:
                    slot[name] = HdrHistogram(
                        h.lowest_trackable_value, h.highest_trackable_value, h.significant_figures
                    )
                slot[name].add(h)
    ts = ts.assign(level=ts["second"].map(key_of)).dropna(subset=["level"])
    levels = []
    for key, rows in ts.groupby("level"):
        requests, failures = int(rows["requests"].sum()), int(rows["failures"].sum())
        seconds = len(rows)
        stats = {name: hist_stats(h) for name, h in acc.get(float(key), {}).items()}
        total = stats.get("*", HistStats(count=0))
        error_rate = failures / requests if requests else 0.0
        broken, evaluated = [], 0
        for c in checks:
            metric, endpoint = str(c["metric"]), str(c.get("endpoint") or "*")
            if metric == "error_rate":
                value: float | None = error_rate if requests else None
            else:
                value = stats[endpoint].get(metric) if endpoint in stats else None
            if value is None:
                continue
            evaluated += 1
            hi, lo = c.get("max"), c.get("min")
            if (hi is not None and value > hi) or (lo is not None and value < lo):
                broken.append(_broken_words(metric, value, hi, lo))
        held = None if not evaluated else not broken
        levels.append(
            Level(
                float(rows["users"].mean()),
                seconds,
                requests,
                failures,
                requests / seconds if seconds else 0.0,
                error_rate,
                total,
                held,
                tuple(broken),
            )
        )
    levels.sort(key=lambda lv: lv.users)
    return mode, levels


def _broken_words(metric: str, value: float, hi: float | None, lo: float | None) -> str:
    if metric == "error_rate":
        return f"errors reach {fmt_pct(value)}"
    label = METRIC_LABEL.get(metric, metric)
    if hi is not None and value > hi:
        return f"{label} rises past {fmt_value(metric, hi)} ({fmt_value(metric, value)})"
    return f"{label} falls below {fmt_value(metric, lo)} ({fmt_value(metric, value)})"


def _users(n: float) -> str:
    return f"{round(n):,}"


def _held_words(run: Run, level: Level) -> str:
    for s in scenario_slos(run.meta):
        if (
            s.get("metric") in LATENCY_METRICS
            and (s.get("endpoint") or "*") == "*"
            and s.get("max") is not None
        ):
            label = METRIC_LABEL[str(s["metric"])]
            return f"{label} under {fmt_ms(float(s['max']))}"
    return f"p95 {fmt_ms(level.stats.p95_ms)}"


def _latency_rose_after(levels: Sequence[Level], knee_i: int) -> bool:
    """Did mean response time rise past the throughput plateau (a saturation signal)?"""
    before = [lv.stats.mean_ms for lv in levels[: knee_i + 1] if lv.stats.mean_ms is not None]
    after = [lv.stats.mean_ms for lv in levels[knee_i + 1 :] if lv.stats.mean_ms is not None]
    if not before or not after:
        return False
    base = min(before)
    return max(after) >= max(KNEE_LATENCY_RISE * base, base + KNEE_MIN_RISE_MS)


def evaluate_capacity(run: Run) -> Capacity:
    """Levels, the SLO knee, the throughput knee and the USL fit, with a headline."""
    mode, levels = load_levels(run)
    usable = [lv for lv in levels if lv.requests >= MIN_LEVEL_REQUESTS]
    users = [lv.users for lv in usable]
    rps = [lv.rps for lv in usable]
    usl = fit_usl(users, rps)
    peak = max((lv.rps for lv in levels), default=0.0)
    knee_i = find_knee(users, rps)
    if knee_i is not None and not _latency_rose_after(usable, knee_i):
        knee_i = None
    knee = usable[knee_i] if knee_i is not None else None
    first_bad = next((i for i, lv in enumerate(levels) if lv.held is False), None)
    broke = levels[first_bad] if first_bad is not None else None
    held = None
    if levels and first_bad != 0:
        held = levels[(first_bad if first_bad is not None else len(levels)) - 1]
    if not levels:
        return Capacity(
            mode,
            (),
            None,
            None,
            None,
            0.0,
            "No load levels with users were recorded: capacity is unknown.",
            False,
            usl,
        )
    if not any(lv.requests for lv in levels):
        headline = "No requests completed at any load level: capacity is unknown."
        return Capacity(mode, tuple(levels), None, None, None, 0.0, headline, False, usl)
    top = levels[-1]
    if len(levels) == 1:
        only = levels[0]
        how = {True: "held its SLOs", False: "missed its SLOs", None: "was measured"}[only.held]
        headline = (
            f"Only one load level was tested ({_users(only.users)} users, "
            f"{only.rps:,.0f} req/s), which {how}; the data can't locate a limit — "
            "run a stepped or ramp scenario to find one."
        )
        return Capacity(mode, tuple(levels), held, broke, None, peak, headline, False, usl)
    if broke is not None and held is None:
        headline = (
            f"Did not hold even the lowest level tested ({_users(broke.users)} users): "
            + " and ".join(broke.broken)
            + "."
        )
    elif broke is not None and held is not None:
        headline = (
            f"Held {_users(held.users)} concurrent shoppers with "
            f"{_held_words(run, held)}; beyond ~{_users(broke.users)} "
            + " and ".join(broke.broken)
            + "."
        )
    elif knee is not None:
        headline = (
            f"Held every level tested (up to {_users(top.users)} users) with "
            f"{_held_words(run, top)}, but throughput stopped growing at "
            f"~{_users(knee.users)} users ({knee.rps:,.0f} req/s): more shoppers "
            "only wait longer."
        )
    else:
        headline = (
            f"Held every level tested (up to {_users(top.users)} users, "
            f"{top.rps:,.0f} req/s) with {_held_words(run, top)}; the limit is "
            "higher than this run reached."
        )
    if knee is not None and broke is not None and knee.users < broke.users:
        headline += (
            f" Throughput stopped growing at ~{_users(knee.users)} users ({knee.rps:,.0f} req/s)."
        )
    return Capacity(mode, tuple(levels), held, broke, knee, peak, headline, True, usl)


# ---------------------------------------------------------------- the plan


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
    instances: int
    worker_rps: float | None
    workers: int
    assumptions: tuple[str, ...]

    def lines(self) -> list[str]:
        """The plan as printable lines, assumptions last."""
        out = [
            f"Plan for {self.users:,} concurrent shoppers",
            f"  request rate needed : {self.needed_rps:,.0f} req/s "
            f"({self.per_user_rps:.3f} req/s per shopper)",
            f"  store instances     : {self.instances:,}"
            + (
                " (at most: the per-instance limit was not reached)"
                if self.instance_rps_lower_bound
                else ""
            )
            + f" at {self.instance_rps:,.0f} req/s each",
            f"  load generators     : {self.workers:,} worker process(es)"
            + (f" at {self.worker_rps:,.0f} req/s each" if self.worker_rps else ""),
            "Assumptions:",
        ]
        return out + [f"  - {a}" for a in self.assumptions]


def _worker_rps(run: Run, ts: Any) -> tuple[float | None, str]:
    gen = run.meta.get("generator") or {}
    processes = max(1, int(gen.get("processes") or 1))
    if "gen_cpu_pct" in ts:
        busy = ts[(ts["gen_cpu_pct"] >= 10) & (ts["requests"] > 0)]
        if len(busy):
            per_core = float((busy["rps"] / (busy["gen_cpu_pct"] / 100)).median()) / processes
            return per_core * WORKER_CPU_CEILING, (
                f"{per_core:,.0f} req/s per fully busy generator process (median over "
                f"{len(busy):,} seconds of CPU samples)"
            )
    cpu = gen.get("cpu_pct_p50")
    total_rps = float((run.summary.get("total") or {}).get("rps") or 0.0)
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
    steady = [lv for lv in cap.levels if lv.requests and lv.held is not False]
    if cap.throughput_knee is not None:
        steady = [lv for lv in steady if lv.users <= cap.throughput_knee.users] or steady
    if steady:
        per_user = sum(lv.rps / lv.users for lv in steady) / len(steady)
        resp = sum((lv.stats.mean_ms or 0.0) for lv in steady) / len(steady) / 1000
        basis = f"{len(steady)} level(s) where the SLOs held"
    else:
        total = run.summary.get("total") or {}
        peak = float((run.meta.get("users") or {}).get("peak") or 1)
        per_user = float(total.get("rps") or 0.0) / max(peak, 1.0)
        resp = float(total.get("mean_ms") or 0.0) / 1000
        basis = "the whole run (no steady level held its SLOs)"
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
    instance_rps = min(candidates) if candidates else cap.peak_rps
    instances = math.ceil(needed / (instance_rps * utilisation)) if instance_rps > 0 else 0
    worker_rps, worker_basis = _worker_rps(run, ts)
    by_cpu = math.ceil(needed / worker_rps) if worker_rps else 0
    workers = max(1, by_cpu, math.ceil(users / SOCKET_USERS_PER_WORKER))
    assumptions = [
        f"Shoppers behave as in this run: {per_user:.3f} req/s each, measured as throughput "
        f"÷ users over {basis}. By Little's law (N = X·(R+Z)) that is a {cycle:.2f} s cycle: "
        f"{resp * 1000:.0f} ms response + {think:.2f} s think time.",
        "Response times stay as measured at those levels (true only below the knee; past it, "
        "a closed-loop shopper sends less, hiding demand).",
        f"One instance = the target as deployed in this run ({run.meta.get('target', '?')} "
        f"store at {run.meta.get('host', '?')}); instances scale linearly behind a load "
        "balancer with no shared bottleneck — a shared database usually is one: test it.",
        f"Per-instance capacity {instance_rps:,.0f} req/s is "
        + (
            "a LOWER BOUND: this run never found the limit, so the instance count is an "
            "upper bound."
            if lower_bound
            else "the throughput at the knee (the highest level where the SLOs held and "
            "throughput still grew)."
        ),
        f"Instances are planned at {utilisation:.0%} of that capacity (headroom).",
        f"Load generators: {worker_basis}; planned at ≤ {WORKER_CPU_CEILING:.0%} CPU, and at "
        f"most {SOCKET_USERS_PER_WORKER:,} users per worker process (socket bound).",
    ]
    if (run.meta.get("generator") or {}).get("saturated"):
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
    )
