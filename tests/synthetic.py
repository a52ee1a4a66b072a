"""Synthetic run folders, written through the real recorder and run-folder writer.

:func:`write_synthetic_run` builds a run's per-second windows from a load model, feeds
them into :class:`~dhakacart_bench.measure.recorder.Recorder` exactly as a distributed
master ingests workers' windows, and writes the folder with
:func:`~dhakacart_bench.runfolder.writer.write_measurements` and
:func:`~dhakacart_bench.runfolder.writer.write_run_json`: the same files, in the same
format, as ``bench run``. Tests use it through the ``make_run`` fixture
(``tests/conftest.py``).

Deterministic (seeded) and fast: each (second, endpoint) cell records a fixed grid of
latency quantiles with multinomial counts, so a cell costs the same whether it holds ten
requests or ten thousand.

Load model: ``users_profile`` gives the users of each second; ``throughput(users)`` the
total completed requests per second (default: Gunther's USL with ``usl=(lam, sigma,
kappa)``), split evenly over the endpoints; ``latency_model(endpoint, users)`` the median
latency of a cell (log-normal, ``latency_sigma``); ``error_rate(second, endpoint,
users)`` the fraction of failed requests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.runfolder.meta import (
    GeneratorMeta,
    InvariantsMeta,
    RunMeta,
    UsersMeta,
)
from dhakacart_bench.runfolder.windows import EndpointWindow, WindowData
from dhakacart_bench.runfolder.writer import write_measurements, write_run_json
from dhakacart_bench.scenario.model import (
    SLO,
    GateSpec,
    LoadSpec,
    Scenario,
    Stage,
    StoreSpec,
    UserSpec,
)
from dhakacart_bench.stats.hdr import encode_histogram, new_histogram, release_histogram

GRID = 48
DEFAULT_ENDPOINTS: dict[str, float] = {
    "GET /api/products": 12.0,
    "GET /api/products/[id]": 8.0,
    "POST /api/checkout": 40.0,
}
START = datetime(2026, 11, 24, 6, 0, 0, tzinfo=UTC)
_Z = [statistics.NormalDist().inv_cdf((k + 0.5) / GRID) for k in range(GRID)]
BYTES_PER_REQUEST = 512


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
    """A p95, an error-rate and an invariants SLO (as SLO's fields)."""
    return [
        {"metric": "p95_ms", "endpoint": "*", "max": 500.0, "name": "p95 under 500 ms"},
        {"metric": "error_rate", "endpoint": "*", "max": 0.01, "name": "errors under 1%"},
        {"metric": "invariants", "endpoint": "*", "name": "no oversold stock"},
    ]


def _cell_values(median_ms: float, sigma: float) -> list[int]:
    return [max(1, round(median_ms * math.exp(sigma * z) * 1000)) for z in _Z]


def _cell(values: Sequence[int], counts: Sequence[int], failures: int) -> EndpointWindow:
    hist = new_histogram()
    total = sum_us = 0
    for value, count in zip(values, counts, strict=True):
        if count:
            hist.record_value(value, int(count))
            total += int(count)
            sum_us += value * int(count)
    used = [v for v, c in zip(values, counts, strict=True) if c]
    window = EndpointWindow(
        requests=total,
        failures=failures,
        bytes=total * BYTES_PER_REQUEST,
        sum_us=sum_us,
        min_us=min(used),
        max_us=max(used),
        histogram_b64=encode_histogram(hist),
    )
    release_histogram(hist)
    return window


def _scenario(
    *,
    name: str,
    model: str,
    peak: int,
    seconds: int,
    slos: Sequence[Mapping[str, Any]],
    gate: Mapping[str, Any] | None,
    reference_users: int = 100_000,
    store: Mapping[str, Any] | None = None,
) -> Scenario:
    if model == "open":
        stages: tuple[Stage, ...] = (Stage(duration_s=float(seconds), arrival_rate=10.0),)
    else:
        stages = (Stage(duration_s=float(seconds), users=peak),)
    gate_spec = GateSpec(p95_regression_pct=10.0, endpoints=("*",), min_requests=100)
    if gate is not None:
        gate_spec = GateSpec(
            **{**gate, "endpoints": tuple(gate.get("endpoints") or ("*",))}  # type: ignore[arg-type]
        )
    return Scenario(
        name=name,
        description=f"Synthetic {name} run",
        path=Path(f"/scenarios/{name}.toml"),
        locustfile=Path("/locustfiles/shoppers.py"),
        users=(UserSpec(class_name="Browser"),),
        host=None,
        store=StoreSpec(**(store or {})),
        load=LoadSpec(
            model="open" if model == "open" else "closed",
            stages=stages,
            reference_users=reference_users,
            default_users=max(peak, 1),
            max_users=max(peak, 1) if model == "open" else None,
        ),
        slos=tuple(SLO(**slo) for slo in slos),
        gate=gate_spec,
    )


def write_synthetic_run(
    parent: Path,
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
    invariants: InvariantsMeta | str | None = "ok",
    saturated: bool = False,
    slos: Sequence[Mapping[str, Any]] | None = None,
    stepped: bool = False,
    gate: Mapping[str, Any] | None = None,
    workload_model: str = "closed",
    scenario_name: str = "flash-sale",
    cpu_rps_per_core: float = 2000.0,
    processes: int = 1,
    name: str | None = None,
    seed: int = 0,
    reference_users: int = 100_000,
    outcomes: Sequence[Mapping[str, Any]] | None = None,
    store: Mapping[str, Any] | None = None,
    rate_at: Callable[[int, int], float] | None = None,
    waited_ms: Callable[[int], float | None] | None = None,
) -> Path:
    """Write a synthetic run folder under ``parent`` and return its path.

    ``invariants="ok"`` records a passing check, ``None`` an external target (not
    checked); an :class:`InvariantsMeta` is recorded as given. ``errors`` replaces the
    errors the error model derives (dicts of errors.json's keys). ``stepped=True`` with
    no ``users_profile`` holds 10, 20, 40, 60, 80, 100 users for ``seconds / 6`` each;
    otherwise the default is a ramp from 10 to 100 users. ``reference_users`` is the size
    the scenario is written for. ``outcomes`` are business-outcome tallies (dicts of
    name, count, units, first_s, last_s), merged through the recorder as a master merges
    a worker's; ``store`` the scenario's ``[store]`` (StoreSpec's fields). ``rate_at(second,
    users)``, when given, replaces the throughput model: the requests completed in that
    second (a stall is a second with none). ``waited_ms(second)``, when it returns a
    value, adds one request per user of that latency in that second: the requests that
    waited out a stall and completed when it ended.
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
        return latency_model(endpoint, users) if latency_model is not None else base_ms[endpoint]

    def err(second: int, endpoint: str, users: float) -> float:
        return error_rate(second, endpoint, users) if callable(error_rate) else error_rate

    start = START.timestamp()
    recorder = Recorder(run_start=start)
    carry = dict.fromkeys(names, 0.0)
    derived: dict[str, dict[str, Any]] = {}
    peak = 0
    for second in range(seconds):
        users = users_profile(second)
        peak = max(peak, users)
        at = start + second + 0.5
        recorder.set_users(users, at)
        completed = rate_at(second, users) if rate_at is not None else x_of_n(users)
        per_endpoint = completed / len(names)
        cells = {}
        for endpoint in names:
            n = round(per_endpoint)
            if n <= 0:
                continue
            counts = rng.multinomial(n, [1.0 / GRID] * GRID)
            carry[endpoint] += n * err(second, endpoint, users)  # error diffusion: exact rate
            fails = min(n, int(carry[endpoint] + 1e-9))
            carry[endpoint] -= fails
            values = _cell_values(lat(endpoint, users), latency_sigma)
            waited = waited_ms(second) if waited_ms is not None else None
            if waited is not None:
                values = [*values, round(waited * 1000)]
                counts = [*counts, max(1, round(users / len(names)))]
            cells[endpoint] = _cell(values, counts, fails)
            if fails:
                record = derived.setdefault(
                    endpoint,
                    {
                        "endpoint": endpoint,
                        "kind": "http_status",
                        "status": 503,
                        "message": "expected 200, got 503 service_unavailable",
                        "count": 0,
                        "first_seen_at": start + second,
                        "last_seen_at": start + second,
                    },
                )
                record["count"] += fails
                record["last_seen_at"] = start + second
        recorder.ingest([WindowData(int(start) + second, cells)])
        requests = sum(cell.requests for cell in cells.values())
        cpu = 97.0 if saturated else min(100.0, 100 * requests / (cpu_rps_per_core * processes))
        recorder.set_generator_sample(round(cpu, 1), 1.5, at)
    if errors is not None:
        derived = {
            str(i): {
                **{k: v for k, v in e.items() if not k.endswith("_seen_s")},
                "first_seen_at": start + float(e.get("first_seen_s", 0.0)),
                "last_seen_at": start + float(e.get("last_seen_s", 0.0)),
            }
            for i, e in enumerate(errors)
        }
    shipped = [
        {
            "name": o["name"],
            "count": o.get("count", 1),
            "units": o.get("units", 0),
            "first_at": start + float(o.get("first_s", 0.0)),
            "last_at": start + float(o.get("last_s", o.get("first_s", 0.0))),
        }
        for o in outcomes or ()
    ]
    recorder.ingest([], list(derived.values()), shipped)
    measurements = recorder.finish(start + seconds - 1e-6)

    run_id = name or f"20261124T060000Z-{scenario_name}-{seed}"
    folder = Path(parent) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    write_measurements(folder, measurements)
    if invariants == "ok":
        inv: InvariantsMeta | None = InvariantsMeta(
            checked=True, ok=True, stats={"orders": 120, "oversold_skus": 0}
        )
    else:
        inv = invariants  # type: ignore[assignment]
    cpus = [cpu for cpu, _ in measurements.generator_by_second.values()]
    meta = RunMeta(
        run_id=run_id,
        scenario_name=scenario_name,
        scenario=_scenario(
            name=scenario_name,
            model=workload_model,
            peak=peak,
            seconds=seconds,
            slos=default_slos() if slos is None else slos,
            gate=gate,
            reference_users=reference_users,
            store=store,
        ),
        scenario_path=f"/scenarios/{scenario_name}.toml",
        host="http://127.0.0.1:54321",
        target="bundled" if inv is not None else "external",
        workload_model=workload_model,
        started_at=START.isoformat(),
        ended_at=(START + timedelta(seconds=seconds)).isoformat(),
        duration_s=float(seconds),
        status=status,
        status_reason=status_reason,
        versions={
            "dhakacart_bench": "0.1.0",
            "locust": "2.47.0",
            "python": "3.11.7",
            "hdrhistogram": "0.10.8",
            "platform": "Linux-synthetic",
        },
        users=UsersMeta(peak=peak, requested_peak=peak, reference_peak=reference_users),
        generator=GeneratorMeta(
            processes=processes,
            cpu_count=max(2, processes),
            cpu_pct_p50=float(np.median(cpus)) if cpus else 0.0,
            cpu_pct_max=max(cpus, default=0.0),
            lag_ms_p99=4.1,
            lag_ms_max=12.0,
            saturated_seconds=seconds if saturated else 0,
            observed_seconds=seconds,
            saturated=saturated,
            reason="CPU above 90% for 100% of the run" if saturated else None,
        ),
        invariants=inv,
        outcomes=recorder.outcomes.section(start),
    )
    write_run_json(folder, meta)
    return folder


#: The ``make_run`` fixture's type: ``make_run(**write_synthetic_run's options) -> Path``
#: (``parent=`` defaults to the test's ``tmp_path``).
MakeRun = Callable[..., Path]


def rewrite_meta(folder: Path, **changes: Any) -> RunMeta:
    """Replace fields of a run folder's run.json (through the real reader and writer)."""
    from dataclasses import replace

    from dhakacart_bench.runfolder.reader import load_run

    meta = replace(load_run(folder).meta, **changes)
    write_run_json(folder, meta)
    return meta


def stalling_target(seconds: int, *, users: int = 10) -> dict[str, Any]:
    """``write_synthetic_run`` options for a closed run of ``users`` users (no think
    time) against a target that stalls 2 s every 7 s, from 0.4 s past second 0: 1,000
    completions a second when it answers, none in a stall, and the users' requests that
    waited out each stall completing 2 s late as it ends (2.4 s past every 7th second)."""
    completions = []
    for s in range(seconds):
        up = sum(1 for k in range(1000) if not 0 <= (s + k / 1000 - 0.4) % 7 < 2)
        completions.append(round(1000 * up / 1000))
    return {
        "seconds": seconds,
        "users_profile": lambda s: users,
        "rate_at": lambda s, _users: completions[s],
        "waited_ms": lambda s: 2000.0 if s % 7 == 2 else None,
        "reference_users": users,
    }
