"""One level of a capacity search, judged from its run folder.

A level is an open-model run at one arrival rate. Its first ``warmup_s`` seconds (the
pool of users filling, connections opening) are discarded; the next ``hold_s`` seconds
are judged: merged HDR histograms per endpoint (exact percentiles), the error rate, the
completed request rate. The level *holds* when every latency / error-rate SLO of the
scenario holds, it is steady (latency not still climbing, completions keeping up with
arrivals), its arrivals found free users (an arrival that waited or was dropped counts
against the level: the open model's promise is that load does not wait), and the
generator was not saturated (then the latencies are the generator's own).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.capacity import check_level, level_checks
from dhakacart_bench.analysis.capacity_search import requests_per_arrival
from dhakacart_bench.analysis.store_view import store_view
from dhakacart_bench.humanize import fmt_pct
from dhakacart_bench.runfolder.capacity import CapacityLevel, LevelEndpoint
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.hdr import HistStats, hist_stats

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run

#: More than this share of a level's arrivals waiting for a free user breaks it.
MAX_LATE_SHARE = 0.01
#: Unsteady: the second half's median per-second p95 is this factor over the first's ...
UNSTEADY_FACTOR = 2.0
#: ... and at least this many milliseconds higher.
UNSTEADY_MIN_RISE_MS = 20.0
#: Completions below this share of the offered request rate: the target fell behind.
MIN_COMPLETED_SHARE = 0.9


def _merged(run: Run, first: int, last: int) -> dict[str, Any]:
    from hdrh.histogram import HdrHistogram

    merged: dict[str, Any] = {}
    for second, hists in run.iter_windows():
        if not first <= second < last:
            continue
        for endpoint, h in hists.items():
            for name in (TOTAL, endpoint):
                if name not in merged:
                    merged[name] = HdrHistogram(
                        h.lowest_trackable_value, h.highest_trackable_value, h.significant_figures
                    )
                merged[name].add(h)
    return merged


def _median(values: Sequence[float]) -> float | None:
    ordered = sorted(v for v in values if v == v)  # drop NaN
    if not ordered:
        return None
    return ordered[len(ordered) // 2]


def is_steady(p95_by_second: Sequence[float]) -> bool:
    """Latency is not still climbing: the second half's median p95 is not twice the
    first half's (and 20 ms above it)."""
    half = len(p95_by_second) // 2
    first, second = _median(p95_by_second[:half]), _median(p95_by_second[half:])
    if first is None or second is None:
        return True
    return not (second > UNSTEADY_FACTOR * first and second > first + UNSTEADY_MIN_RISE_MS)


def judge_level(
    run: Run,
    *,
    index: int,
    rate: float,
    purpose: str,
    pool: int,
    warmup_s: float,
    hold_s: float,
    run_dir: str,
    requests_per_arrival: float | None = None,
    store_view: Mapping[str, Mapping[str, float]] | None = None,
) -> CapacityLevel:
    """The level's figures and whether it held (see the module docstring)."""
    # whole seconds only: the first after the warm-up, the last before the level ended
    first = math.ceil(warmup_s - 1e-9)
    last = max(first + 1, math.floor(warmup_s + hold_s + 1e-9))
    ts = run.timeseries()
    kept = ts[(ts["second"] >= first) & (ts["second"] < last)]
    seconds = float(max(1, last - first))
    requests, failures = int(kept["requests"].sum()), int(kept["failures"].sum())
    merged = _merged(run, first, last)
    stats: dict[str, HistStats] = {name: hist_stats(h) for name, h in merged.items()}
    total = stats.get(TOTAL, HistStats(count=0))
    error_rate = failures / requests if requests else 0.0
    completed_rps = requests / seconds
    rpa = requests_per_arrival or (completed_rps / rate if rate else 0.0)
    offered_rps = rate * rpa
    checks = level_checks(run.scenario.slos)
    slo_held, broken_slos = check_level(
        checks, stats, error_rate=error_rate, requests=requests, name_endpoints=True
    )
    arrivals = run.meta.arrivals
    planned = arrivals.planned if arrivals else 0
    late = arrivals.late if arrivals else 0
    dropped = arrivals.dropped if arrivals else 0
    generator = run.meta.generator
    cpu = float(kept["gen_cpu_pct"].mean()) if "gen_cpu_pct" in kept and len(kept) else 0.0
    cpu = 0.0 if cpu != cpu else cpu
    cpu_ms = cpu / 100.0 * 1000.0 / completed_rps if completed_rps else None
    steady = is_steady(list(kept["p95_ms"])) if "p95_ms" in kept else True
    behind = requests_per_arrival is not None and completed_rps < MIN_COMPLETED_SHARE * offered_rps
    broken: list[str] = []
    kind: str | None = None

    def breaks(what: str, words: Sequence[str]) -> None:
        nonlocal kind
        kind = kind or what
        broken.extend(words)

    if generator.saturated:
        breaks("generator", [f"the load generator was saturated ({generator.reason})"])
    if requests == 0:
        breaks("errors", ["no request completed"])
    errors = [w for w in broken_slos if w.startswith("errors reach")]
    if errors:
        breaks("errors", errors)
    latency = [w for w in broken_slos if w not in errors]
    if latency:
        breaks("slo", latency)
    if not steady:
        breaks("unsteady", ["latency was still rising at the end of the level (not steady)"])
    if behind:
        breaks(
            "unsteady",
            [
                f"completed {completed_rps:,.0f} of the {offered_rps:,.0f} req/s offered "
                "(the target fell behind)"
            ],
        )
    if planned and (dropped or late / planned > MAX_LATE_SHARE):
        breaks(
            "pool",
            [
                f"{fmt_pct((late + dropped) / planned)} of arrivals waited for a free user "
                f"(pool of {pool:,})"
            ],
        )
    et = run.endpoint_timeseries()
    et = et[(et["second"] >= first) & (et["second"] < last)]
    failed = {str(k): int(v) for k, v in et.groupby("endpoint")["failures"].sum().items()}
    endpoints = {
        name: LevelEndpoint(
            requests=s.count,
            failures=failed.get(name, 0),
            p50_ms=s.p50_ms,
            p95_ms=s.p95_ms,
            p99_ms=s.p99_ms,
        )
        for name, s in stats.items()
        if name != TOTAL
    }
    return CapacityLevel(
        index=index,
        rate=rate,
        purpose=purpose,
        run_dir=run_dir,
        pool=pool,
        seconds=seconds,
        warmup_s=warmup_s,
        requests=requests,
        failures=failures,
        offered_rps=round(offered_rps, 3),
        completed_rps=round(completed_rps, 3),
        error_rate=error_rate,
        mean_ms=total.mean_ms,
        p95_ms=total.p95_ms,
        p99_ms=total.p99_ms,
        endpoints=endpoints,
        arrivals_planned=planned,
        arrivals_late=late,
        arrivals_dropped=dropped,
        lag_ms_p99=arrivals.lag_ms_p99 if arrivals else 0.0,
        generator_cpu_pct=round(cpu, 1),
        generator_cpu_ms_per_request=None if cpu_ms is None else round(cpu_ms, 4),
        generator_saturated=generator.saturated,
        steady=steady,
        held=bool(slo_held is not False and not broken),
        broken=tuple(broken),
        break_kind=kind,
        store_view={k: dict(v) for k, v in store_view.items()} if store_view else None,
    )


def judge_folder(
    run_dir: Any,
    step: Any,
    *,
    index: int,
    warmup_s: float,
    run_dir_name: str,
    previous: Sequence[CapacityLevel],
    metrics_before: str | None = None,
    metrics_after: str | None = None,
) -> CapacityLevel:
    """:func:`judge_level` of a level folder the search just wrote (``step`` is the
    :class:`~dhakacart_bench.analysis.capacity_search.NextLevel` it ran)."""
    return judge_level(
        load_run(run_dir),
        index=index,
        rate=step.rate,
        purpose=step.purpose,
        pool=step.pool,
        warmup_s=warmup_s,
        hold_s=step.hold_s,
        run_dir=run_dir_name,
        requests_per_arrival=requests_per_arrival(previous),
        store_view=store_view(metrics_before, metrics_after),
    )
