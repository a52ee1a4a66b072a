"""Synthetic run folders, written directly in the documented format (docs/run-folder.md).

``make_run(tmp_path, ...)`` writes a complete, valid run folder without Locust or the
recorder: per-second HDR histograms per endpoint, the whole-run histograms, both CSV
time series, ``summary.json``, ``errors.json`` and ``run.json``. Everything is
deterministic (seeded RNG), and fast: each (second, endpoint) cell records a fixed grid
of latency quantiles with multinomial counts, so a cell costs the same whether it holds
ten requests or ten thousand.

Load model: ``users_profile`` gives the users of each second; ``throughput(users)``
gives the total completed requests per second (default: Gunther's USL with
``usl=(lam, sigma, kappa)``), split evenly over the endpoints; ``latency_ms(endpoint,
users)`` gives the median latency of a cell (log-normal, ``latency_sigma``);
``error_rate(second, endpoint, users)`` the fraction of failed requests.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.layout import TIMESERIES_COLUMNS
from dhakacart_bench.stats.hdr import hist_stats

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGFIGS = 3
GRID = 48
DEFAULT_ENDPOINTS: dict[str, float] = {
    "GET /api/products": 12.0,
    "GET /api/products/[id]": 8.0,
    "POST /api/checkout": 40.0,
}
START = datetime(2026, 11, 24, 6, 0, 0, tzinfo=UTC)
_Z = [statistics.NormalDist().inv_cdf((k + 0.5) / GRID) for k in range(GRID)]


def new_histogram() -> HdrHistogram:
    """An empty histogram with the run-folder settings (µs, 1 µs .. 1 h, 3 digits)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGFIGS)


def usl_throughput(lam: float, sigma: float, kappa: float) -> Callable[[float], float]:
    """The USL: X(N) = lam*N / (1 + sigma*(N-1) + kappa*N*(N-1))."""

    def x(n: float) -> float:
        if n <= 0:
            return 0.0
        return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))

    return x


def stepped_profile(levels: Sequence[int], step_s: int) -> Callable[[int], int]:
    """Users per second for a stepped run: each level held for ``step_s`` seconds."""

    def users(second: int) -> int:
        return int(levels[min(second // step_s, len(levels) - 1)])

    return users


def ramp_profile(start: int, end: int, seconds: int) -> Callable[[int], int]:
    """Users per second for a linear ramp from ``start`` to ``end``."""

    def users(second: int) -> int:
        frac = second / max(1, seconds - 1)
        return round(start + (end - start) * frac)

    return users


def default_slos() -> list[dict[str, Any]]:
    """A p95, an error-rate and an invariants SLO, as Scenario.to_dict() writes them."""
    return [
        {
            "metric": "p95_ms",
            "endpoint": "*",
            "max": 500.0,
            "min": None,
            "name": "p95 under 500 ms",
        },
        {
            "metric": "error_rate",
            "endpoint": "*",
            "max": 0.01,
            "min": None,
            "name": "errors under 1%",
        },
        {
            "metric": "invariants",
            "endpoint": "*",
            "max": None,
            "min": None,
            "name": "no oversold stock",
        },
    ]


def _cell_values(median_ms: float, sigma: float) -> list[int]:
    return [max(1, round(median_ms * math.exp(sigma * z) * 1000)) for z in _Z]


def _summary_row(name: str, h: HdrHistogram, failures: int, duration: float) -> dict[str, Any]:
    count = h.get_total_count()
    method = name.split(" ", 1)[0] if name != "*" else ""
    row: dict[str, Any] = {"name": name, "method": method, "count": count, "failures": failures}
    row["failure_rate"] = failures / count if count else 0.0
    row["rps"] = count / duration if duration else 0.0
    row["bytes"] = count * 512
    st = hist_stats(h)
    for key in ("min_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"):
        row[key] = st.get(key)
    return row


def make_run(
    tmp_path: Path,
    *,
    seconds: int = 60,
    endpoints: Mapping[str, float] | Sequence[str] | None = None,
    users_profile: Callable[[int], int] | None = None,
    throughput: Callable[[float], float] | None = None,
    usl: tuple[float, float, float] = (5.0, 0.0, 0.0),
    latency_model: Callable[[str, float], float] | None = None,
    latency_sigma: float = 0.4,
    error_rate: Callable[[int, str, float], float] | float = 0.0,
    errors: list[dict[str, Any]] | None = None,
    status: str = "completed",
    status_reason: str | None = None,
    invariants: dict[str, Any] | str | None = "ok",
    saturated: bool = False,
    slos: list[dict[str, Any]] | None = None,
    stepped: bool = False,
    gate: dict[str, Any] | None = None,
    workload_model: str = "closed",
    scenario_name: str = "flash-sale",
    cpu_rps_per_core: float = 2000.0,
    processes: int = 1,
    name: str | None = None,
    seed: int = 0,
) -> Path:
    """Write a synthetic run folder under ``tmp_path`` and return its path.

    ``invariants="ok"`` writes a passing check, ``None`` an external target (not
    checked); a dict is written as given. ``stepped=True`` with no ``users_profile``
    holds 10, 20, 40, 60, 80, 100 users for ``seconds / 6`` each; otherwise the default
    is a ramp from 10 to 100 users.
    """
    rng = np.random.default_rng(seed)
    if endpoints is None:
        endpoints = DEFAULT_ENDPOINTS
    if not isinstance(endpoints, Mapping):
        endpoints = {e: 10.0 for e in endpoints}
    base_ms = dict(endpoints)
    names = sorted(base_ms)
    if users_profile is None:
        if stepped:
            users_profile = stepped_profile([10, 20, 40, 60, 80, 100], max(1, seconds // 6))
        else:
            users_profile = ramp_profile(10, 100, seconds)
    x_of_n = throughput or usl_throughput(*usl)

    def lat(endpoint: str, users: float) -> float:
        if latency_model is not None:
            return latency_model(endpoint, users)
        return base_ms[endpoint]

    def err(second: int, endpoint: str, users: float) -> float:
        return error_rate(second, endpoint, users) if callable(error_rate) else error_rate

    run_id = name or f"20261124T060000Z-{scenario_name}-{seed}"
    folder = Path(tmp_path) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    whole = {e: new_histogram() for e in names}
    whole_failures = dict.fromkeys(names, 0)
    carry = dict.fromkeys(names, 0.0)
    total = new_histogram()
    ts_rows: list[list[Any]] = []
    ep_rows: list[list[Any]] = []
    windows: list[str] = []
    derived_errors: dict[str, dict[str, Any]] = {}
    for second in range(seconds):
        users = users_profile(second)
        total_rps = x_of_n(users)
        per_ep = total_rps / len(names)
        window_total = new_histogram()
        encoded: dict[str, str] = {}
        win_fail = 0
        for ep in names:
            n = round(per_ep)
            if n <= 0:
                continue
            counts = rng.multinomial(n, [1.0 / GRID] * GRID)
            h = new_histogram()
            for value, count in zip(
                _cell_values(lat(ep, users), latency_sigma), counts, strict=True
            ):
                if count:
                    h.record_value(value, int(count))
            carry[ep] += n * err(second, ep, users)  # error diffusion: exact overall rate
            fails = min(n, int(carry[ep] + 1e-9))
            carry[ep] -= fails
            whole_failures[ep] += fails
            win_fail += fails
            if fails:
                d = derived_errors.setdefault(
                    ep,
                    {
                        "endpoint": ep,
                        "kind": "http_status",
                        "status": 503,
                        "message": "expected 200, got 503 service_unavailable",
                        "count": 0,
                        "first_seen_s": float(second),
                        "last_seen_s": float(second),
                    },
                )
                d["count"] += fails
                d["last_seen_s"] = float(second)
            whole[ep].add(h)
            window_total.add(h)
            encoded[ep] = _enc(h)
            st = hist_stats(h)
            ep_rows.append([second, ep, n, fails, st.p50_ms, st.p95_ms, st.p99_ms, st.max_ms])
        total.add(window_total)
        count = window_total.get_total_count()
        if encoded:
            windows.append(json.dumps({"second": second, "endpoints": encoded}))
        time_iso = (START + timedelta(seconds=second)).isoformat()
        cpu = min(100.0, 100.0 * count / (cpu_rps_per_core * processes)) if not saturated else 97.0
        if count:
            st = hist_stats(window_total)
            lat_cols: list[Any] = [
                round(st.mean_ms or 0.0, 3),
                st.p50_ms,
                st.p90_ms,
                st.p95_ms,
                st.p99_ms,
                st.max_ms,
            ]
        else:
            lat_cols = [""] * 6
        ts_rows.append(
            [
                second,
                time_iso,
                users,
                count,
                win_fail,
                count * 512,
                float(count),
                win_fail / count if count else 0.0,
                *lat_cols,
                round(cpu, 1),
                1.5,
            ]
        )

    duration = float(seconds)
    summary = {
        "duration_s": duration,
        "endpoints": [_summary_row(e, whole[e], whole_failures[e], duration) for e in names],
        "total": _summary_row("*", total, sum(whole_failures.values()), duration),
    }
    hist_doc = {
        "unit": "us",
        "lowest": LOWEST_US,
        "highest": HIGHEST_US,
        "significant_figures": SIGFIGS,
        "total": _enc(total),
        "endpoints": {e: _enc(whole[e]) for e in names},
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    (folder / "histograms.json").write_text(json.dumps(hist_doc))
    (folder / "windows.jsonl").write_text("".join(line + "\n" for line in windows))
    with (folder / "timeseries.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TIMESERIES_COLUMNS)
        w.writerows(ts_rows)
    with (folder / "endpoint_timeseries.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["second", "endpoint", "requests", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
        )
        w.writerows(ep_rows)
    error_list = errors if errors is not None else list(derived_errors.values())
    (folder / "errors.json").write_text(json.dumps(error_list, indent=1))

    peak = max((r[2] for r in ts_rows), default=0)
    if invariants == "ok":
        inv: dict[str, Any] | None = {
            "checked": True,
            "ok": True,
            "problems": [],
            "stats": {"orders": 120, "oversold_skus": 0},
        }
    else:
        inv = invariants  # type: ignore[assignment]
    cpus = [r[14] for r in ts_rows]
    scenario = {
        "name": scenario_name,
        "description": f"Synthetic {scenario_name} run",
        "slos": default_slos() if slos is None else slos,
        "load": {
            "model": workload_model,
            "stages": [],
            "reference_users": 100000,
            "default_users": peak,
            "max_users": peak,
            "arrival": None,
        },
        "gate": gate
        if gate is not None
        else {"p95_regression_pct": 10.0, "endpoints": [], "min_requests": 100},
    }
    meta = {
        "format": "dhakacart-bench/run",
        "format_version": 1,
        "run_id": run_id,
        "scenario_name": scenario_name,
        "scenario": scenario,
        "scenario_path": f"/scenarios/{scenario_name}.toml",
        "host": "http://127.0.0.1:54321",
        "target": "bundled" if inv is not None else "external",
        "workload_model": workload_model,
        "started_at": START.isoformat(),
        "ended_at": (START + timedelta(seconds=seconds)).isoformat(),
        "duration_s": duration,
        "status": status,
        "status_reason": status_reason,
        "exit_code": 0 if status == "completed" else 3,
        "versions": {
            "dhakacart_bench": "0.1.0",
            "locust": "2.47.0",
            "python": "3.11.7",
            "hdrhistogram": "0.10.8",
            "platform": "Linux-synthetic",
        },
        "users": {"peak": peak, "requested_peak": peak, "reference_peak": 100000},
        "generator": {
            "processes": processes,
            "cpu_count": max(2, processes),
            "cpu_pct_p50": float(np.median(cpus)) if cpus else 0.0,
            "cpu_pct_max": max(cpus, default=0.0),
            "lag_ms_p99": 4.1,
            "lag_ms_max": 12.0,
            "saturated_seconds": seconds if saturated else 0,
            "observed_seconds": seconds,
            "saturated": saturated,
            "reason": "CPU above 90% for 100% of the run" if saturated else None,
        },
        "arrivals": None,
        "invariants": inv,
        "errors_overflow": 0,
    }
    (folder / "run.json").write_text(json.dumps(meta, indent=1))
    return folder


def _enc(h: HdrHistogram) -> str:
    e = h.encode()
    return e.decode() if isinstance(e, bytes) else e
