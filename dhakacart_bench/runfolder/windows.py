"""What a run measured, as the writer takes it: one-second windows of per-endpoint HDR
histograms with exact counters (:class:`WindowData`, also what a worker ships to its
master) and the whole run (:class:`Measurements`), with summary.json built from them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.runfolder.meta import EndpointSummary, ErrorRecord, Summary
from dhakacart_bench.stats.hdr import (
    SUMMARY_PERCENTILES,
    clamp_us,
    decode_histogram,
    values_at_percentiles,
)


@dataclass(frozen=True)
class EndpointWindow:
    """One endpoint's share of one closed window (or of a whole run).

    ``sum_us``/``min_us``/``max_us`` are exact over the recorded µs values, so mean,
    min and max need no histogram arithmetic; ``histogram_b64`` is the encoded HDR
    histogram (see :func:`encode_histogram`).
    """

    requests: int
    failures: int
    bytes: int
    sum_us: int
    min_us: int
    max_us: int
    histogram_b64: str

    def histogram(self) -> HdrHistogram:
        """The decoded histogram (a new object each call)."""
        return decode_histogram(self.histogram_b64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-able dict."""
        return {
            "requests": self.requests,
            "failures": self.failures,
            "bytes": self.bytes,
            "sum_us": self.sum_us,
            "min_us": self.min_us,
            "max_us": self.max_us,
            "histogram": self.histogram_b64,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointWindow:
        """Inverse of :meth:`to_dict`."""
        return cls(
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            bytes=int(data["bytes"]),
            sum_us=int(data["sum_us"]),
            min_us=int(data["min_us"]),
            max_us=int(data["max_us"]),
            histogram_b64=str(data["histogram"]),
        )


@dataclass(frozen=True)
class WindowData:
    """A closed one-second window: every endpoint with requests that completed in it."""

    epoch_second: int
    endpoints: dict[str, EndpointWindow]

    @property
    def requests(self) -> int:
        """Requests of all endpoints in this window."""
        return sum(e.requests for e in self.endpoints.values())

    @property
    def failures(self) -> int:
        """Failures of all endpoints in this window."""
        return sum(e.failures for e in self.endpoints.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-able dict (what a worker ships to the master)."""
        return {
            "epoch_second": self.epoch_second,
            "endpoints": {name: ew.to_dict() for name, ew in self.endpoints.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowData:
        """Inverse of :meth:`to_dict`."""
        return cls(
            epoch_second=int(data["epoch_second"]),
            endpoints={
                str(name): EndpointWindow.from_dict(ew) for name, ew in data["endpoints"].items()
            },
        )


@dataclass(frozen=True)
class EndpointCounts:
    """Exact whole-run counters of one endpoint (or of all, ``"*"``)."""

    requests: int = 0
    failures: int = 0
    bytes: int = 0
    sum_us: int = 0
    min_us: int = 0
    max_us: int = 0


def _endpoint_summary(
    name: str, counts: EndpointCounts, hist: HdrHistogram, duration_s: float
) -> EndpointSummary:
    n = counts.requests
    row = EndpointSummary(
        name=name,
        method=name.split(" ", 1)[0] if name != TOTAL else None,
        count=n,
        failures=counts.failures,
        failure_rate=counts.failures / n if n else 0.0,
        rps=round(n / duration_s, 3) if duration_s > 0 else 0.0,
        bytes=counts.bytes,
    )
    if not n:
        return row
    p50, p90, p95, p99, p999 = (
        clamp_us(value, counts.min_us, counts.max_us) / 1000
        for value in values_at_percentiles(hist, [p for _, p in SUMMARY_PERCENTILES])
    )
    return dataclasses.replace(
        row,
        min_ms=counts.min_us / 1000,
        mean_ms=round(counts.sum_us / n / 1000, 3),
        p50_ms=p50,
        p90_ms=p90,
        p95_ms=p95,
        p99_ms=p99,
        p999_ms=p999,
        max_ms=counts.max_us / 1000,
    )


@dataclass(frozen=True)
class Measurements:
    """Everything one run measured — the plain result the run folder is written from.

    Seconds in ``users_by_second``/``generator_by_second`` are indices since the run
    start (``epoch_second - floor(run_start)``), dense for users (carried forward),
    sparse for generator samples. ``windows`` are sorted by ``epoch_second``.
    ``errors`` are errors.json's records, most frequent first.
    """

    run_start: float
    run_end: float
    duration_s: float
    endpoints: dict[str, HdrHistogram]
    total: HdrHistogram
    counts: dict[str, EndpointCounts]
    total_counts: EndpointCounts
    windows: list[WindowData]
    users_by_second: dict[int, int] = field(default_factory=dict)
    generator_by_second: dict[int, tuple[float, float]] = field(default_factory=dict)
    errors: tuple[ErrorRecord, ...] = ()
    errors_overflow: int = 0

    @property
    def first_epoch_second(self) -> int:
        """The epoch second that is second 0 of the run."""
        return math.floor(self.run_start)

    @property
    def last_second(self) -> int:
        """The index of the last second of the run (rows 0..last_second exist)."""
        last = math.floor(self.run_end) - self.first_epoch_second
        if self.windows:
            last = max(last, self.windows[-1].epoch_second - self.first_epoch_second)
        return max(last, 0)

    def summary(self) -> Summary:
        """summary.json (see docs/run-folder.md)."""
        return Summary(
            duration_s=round(self.duration_s, 3),
            endpoints=tuple(
                _endpoint_summary(name, self.counts[name], self.endpoints[name], self.duration_s)
                for name in sorted(self.endpoints)
            ),
            total=_endpoint_summary(TOTAL, self.total_counts, self.total, self.duration_s),
        )
