"""Generator self-check: did the load generator keep up, or did it measure itself?

A Locust process is one gevent loop on one core. When it runs out of CPU,
requests wait in the generator before they are sent and responses wait before
they are timed: the latencies then describe the generator, not the target.
Two signals show it, sampled once a second during the run:

- the process's CPU use (100% = one core), from psutil;
- the event-loop lag: how late a greenlet that asks to sleep 50 ms wakes up.

:func:`assess` turns the samples into the ``generator`` section of run.json.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: A sample above either threshold counts as a saturated second.
DEFAULT_CPU_THRESHOLD_PCT = 90.0
DEFAULT_LAG_THRESHOLD_MS = 100.0
#: The run is flagged when at least this fraction of its seconds were saturated,
#: and at least DEFAULT_MIN_SATURATED_S of them (one hiccup does not void a short run).
DEFAULT_SATURATED_FRACTION = 0.10
DEFAULT_MIN_SATURATED_S = 3
#: The first seconds (imports, spawning) are not judged.
DEFAULT_WARMUP_S = 3
LAG_PROBE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class HealthThresholds:
    cpu_pct: float = DEFAULT_CPU_THRESHOLD_PCT
    lag_ms: float = DEFAULT_LAG_THRESHOLD_MS
    saturated_fraction: float = DEFAULT_SATURATED_FRACTION
    min_saturated_s: int = DEFAULT_MIN_SATURATED_S
    warmup_s: int = DEFAULT_WARMUP_S


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def assess(
    samples: Sequence[tuple[float, float]],
    *,
    processes: int = 1,
    cpu_count: int | None = None,
    thresholds: HealthThresholds = HealthThresholds(),
) -> dict[str, Any]:
    """Judge per-second ``(cpu_pct, lag_ms)`` samples of the busiest generator process."""
    judged = list(samples[thresholds.warmup_s :]) or list(samples)
    cpus = [c for c, _ in judged]
    lags = [lag for _, lag in judged]
    hot_cpu = sum(1 for c in cpus if c >= thresholds.cpu_pct)
    hot_lag = sum(1 for lag in lags if lag >= thresholds.lag_ms)
    saturated_seconds = sum(
        1 for c, lag in judged if c >= thresholds.cpu_pct or lag >= thresholds.lag_ms
    )
    observed = len(judged)
    saturated = (
        observed > 0
        and saturated_seconds >= thresholds.min_saturated_s
        and saturated_seconds / observed >= thresholds.saturated_fraction
    )
    reason = None
    if saturated:
        parts = []
        if hot_cpu:
            parts.append(f"CPU at or above {thresholds.cpu_pct:.0f}% for {hot_cpu} s")
        if hot_lag:
            parts.append(f"event-loop lag at or above {thresholds.lag_ms:.0f} ms for {hot_lag} s")
        reason = (
            f"load generator saturated: {' and '.join(parts)} of {observed} s observed "
            f"({saturated_seconds / observed:.0%}); its latencies measure the generator, "
            "not the target — add workers (--workers) or lower the load"
        )
    return {
        "processes": processes,
        "cpu_count": cpu_count,
        "cpu_pct_p50": _percentile(cpus, 50),
        "cpu_pct_max": round(max(cpus), 2) if cpus else 0.0,
        "lag_ms_p99": _percentile(lags, 99),
        "lag_ms_max": round(max(lags), 2) if lags else 0.0,
        "saturated_seconds": saturated_seconds,
        "observed_seconds": observed,
        "saturated": saturated,
        "reason": reason,
        "thresholds": {
            "cpu_pct": thresholds.cpu_pct,
            "lag_ms": thresholds.lag_ms,
            "saturated_fraction": thresholds.saturated_fraction,
            "min_saturated_s": thresholds.min_saturated_s,
        },
    }


class GeneratorMonitor:
    """Samples this process's CPU and event-loop lag; runs inside a gevent loop."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._process.cpu_percent(None)  # prime: the first call always returns 0.0
        self._max_lag_s = 0.0
        self._greenlet: Any = None
        self.samples: list[tuple[float, float]] = []

    def _probe(self) -> None:
        import gevent

        while True:
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE_INTERVAL_S)
            late = time.perf_counter() - before - LAG_PROBE_INTERVAL_S
            self._max_lag_s = max(self._max_lag_s, late)

    def start(self) -> None:
        import gevent

        self._greenlet = gevent.spawn(self._probe)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    def sample(self) -> tuple[float, float]:
        """CPU % since the last sample and the worst lag (ms) since the last sample."""
        cpu = float(self._process.cpu_percent(None))
        lag_ms = round(self._max_lag_s * 1000.0, 2)
        self._max_lag_s = 0.0
        self.samples.append((cpu, lag_ms))
        return cpu, lag_ms
