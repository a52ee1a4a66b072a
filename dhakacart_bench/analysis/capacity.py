"""Capacity of one run: its load levels, the SLO knee, the throughput knee and the USL fit.

``evaluate_capacity(run)`` groups the per-second time series by concurrent-user level
(the steps of a stepped run, or bins of a ramp), merges each level's window histograms
for exact percentiles, finds the highest level at which the latency/error SLOs held and
where throughput stops growing, fits the Universal Scalability Law
(:mod:`dhakacart_bench.stats.usl`) and says it all in one plain sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.slos import fmt_value
from dhakacart_bench.humanize import fmt_ms, fmt_pct
from dhakacart_bench.scenario.metrics import LATENCY_METRICS, METRIC_LABEL
from dhakacart_bench.scenario.model import SLO
from dhakacart_bench.stats.hdr import HistStats, hist_stats
from dhakacart_bench.stats.usl import UslFit, find_knee, fit_usl

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run


MIN_STEP_S = 3
"""A users value held this many seconds or more counts as a step."""
RAMP_BINS = 12
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
    #: the run's one throughput figure: its steady hold (the level held longest)
    steady: Level | None = None


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


def check_level(
    checks: Sequence[SLO],
    stats: Mapping[str, HistStats],
    *,
    error_rate: float,
    requests: int,
    name_endpoints: bool = False,
) -> tuple[bool | None, tuple[str, ...]]:
    """(held, what broke in words) of one load level against the level ``checks``.

    ``stats`` maps ``"*"`` and endpoints to their merged statistics. ``held`` is None
    when no check could be evaluated (no requests, no such endpoint).
    """
    broken, evaluated = [], 0
    for c in checks:
        metric, endpoint = c.metric, c.endpoint
        if metric == "error_rate":
            value: float | None = error_rate if requests else None
        else:
            value = stats[endpoint].get(metric) if endpoint in stats else None
        if value is None:
            continue
        evaluated += 1
        hi, lo = c.max, c.min
        if (hi is not None and value > hi) or (lo is not None and value < lo):
            named = name_endpoints and endpoint != "*" and metric != "error_rate"
            where = f"{endpoint} " if named else ""
            broken.append(where + _broken_words(metric, value, hi, lo))
    return (None if not evaluated else not broken), tuple(broken)


def level_checks(slos: Sequence[SLO]) -> list[SLO]:
    """The SLOs a load level is judged by: latency metrics and the total error rate."""
    return [
        s
        for s in slos
        if s.metric in LATENCY_METRICS or (s.metric == "error_rate" and s.endpoint == "*")
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
    checks = level_checks(run.scenario.slos)
    wanted = {c.endpoint for c in checks} - {"*"}
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
        held, broken = check_level(checks, stats, error_rate=error_rate, requests=requests)
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
                broken,
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
    for s in run.scenario.slos:
        if s.metric in LATENCY_METRICS and s.endpoint == "*" and s.max is not None:
            return f"{METRIC_LABEL[s.metric]} under {fmt_ms(s.max)}"
    return f"p95 {fmt_ms(level.stats.p95_ms)}"


def _latency_rose_after(levels: Sequence[Level], knee_i: int) -> bool:
    """Did mean response time rise past the throughput plateau (a saturation signal)?"""
    before = [lv.stats.mean_ms for lv in levels[: knee_i + 1] if lv.stats.mean_ms is not None]
    after = [lv.stats.mean_ms for lv in levels[knee_i + 1 :] if lv.stats.mean_ms is not None]
    if not before or not after:
        return False
    base = min(before)
    return max(after) >= max(KNEE_LATENCY_RISE * base, base + KNEE_MIN_RISE_MS)


def steady_level(levels: Sequence[Level]) -> Level | None:
    """The level the run held longest (its steady hold; the higher one on a tie): the
    one throughput figure the plan and the headline use. Ramp bins and a surge's few
    seconds are not steady state."""
    candidates = [lv for lv in levels if lv.requests]
    if not candidates:
        return None
    return max(candidates, key=lambda lv: (lv.seconds, lv.users))


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
    # the run's one throughput figure: the steady hold's (a short top level, the surge's
    # few seconds, is not steady state and gives no req/s of its own in the headline)
    steady = steady_level(levels)
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
        rate = f", {top.rps:,.0f} req/s" if steady is top else ""
        headline = (
            f"Held every level tested (up to {_users(top.users)} users{rate}) with "
            f"{_held_words(run, top)}; the limit is higher than this run reached."
        )
    if steady is not None and steady is not top and not broke and knee is None:
        headline = headline.rstrip(".") + (
            f"; steady hold: {_users(steady.users)} users at {steady.rps:,.0f} req/s."
        )
    if knee is None and broke is None and usl.ok:
        usl = UslFit(
            ok=False,
            reason="the levels never reached contention (throughput still grew with users "
            "and no SLO broke), so a fit would only extrapolate",
        )
    if knee is not None and broke is not None and knee.users < broke.users:
        headline += (
            f" Throughput stopped growing at ~{_users(knee.users)} users ({knee.rps:,.0f} req/s)."
        )
    return Capacity(mode, tuple(levels), held, broke, knee, peak, headline, True, usl, steady)
