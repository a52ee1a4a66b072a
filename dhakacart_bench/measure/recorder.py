"""The recorder: exact, mergeable latency measurements from Locust request events.

The runner attaches :meth:`Recorder.on_request` to Locust's ``events.request`` and
calls :meth:`Recorder.close_windows`, :meth:`Recorder.set_users` and
:meth:`Recorder.live` from a one-second ticker. Every request is recorded, in integer
microseconds, into an HDR histogram for its (completion second, endpoint) window: the
listener only appends the value to the window's buffer, and the ticker folds a second's
buffer into its histogram in one pass (:func:`record_values`). A
window is closed a moment after its second ends: its histogram is folded into the
whole-run histogram of its endpoint and kept only in encoded (compact) form, so memory
stays flat over long runs. Closed windows are plain
:class:`~dhakacart_bench.runfolder.windows.WindowData` values that a distributed worker
ships to the master, which merges them exactly with :meth:`Recorder.ingest`.

This module never imports locust; the request listener only duck-types Locust's event
arguments. Units: histograms record integer microseconds; everything a person reads
(summary, live stats) is in milliseconds. See docs/run-folder.md.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dhakacart_bench.measure.failures import ErrorBook
from dhakacart_bench.measure.outcomes import OutcomeBook
from dhakacart_bench.runfolder.windows import (
    EndpointCounts,
    EndpointWindow,
    Measurements,
    WindowData,
)
from dhakacart_bench.stats.hdr import (
    HDR_HIGHEST_US,
    CountsSpan,
    add_histogram,
    add_span,
    counts_span,
    encode_histogram,
    new_histogram,
    record_values,
    release_histogram,
    values_at_percentiles,
)

DEFAULT_MAX_ERRORS = 1000
DEFAULT_GRACE_S = 2.0
DEFAULT_LIVE_WINDOW_S = 10
#: How many closed seconds of merged (all-endpoint) histograms are kept for live().
LIVE_MAX_WINDOW_S = 30


class _Live:
    """A window still being recorded into: a live histogram plus exact counters, and the
    values (µs) recorded since the last :meth:`flush`, not yet in either."""

    __slots__ = ("bytes", "failures", "hist", "max_us", "min_us", "pending", "requests", "sum_us")

    def __init__(self) -> None:
        self.pending = array("q")
        self.hist = new_histogram()
        self.requests = 0
        self.failures = 0
        self.bytes = 0
        self.sum_us = 0
        self.min_us = HDR_HIGHEST_US
        self.max_us = 0

    def add_counts(
        self, requests: int, failures: int, nbytes: int, sum_us: int, min_us: int, max_us: int
    ) -> None:
        self.requests += requests
        self.failures += failures
        self.bytes += nbytes
        self.sum_us += sum_us
        self.min_us = min(self.min_us, min_us)
        self.max_us = max(self.max_us, max_us)

    def flush(self) -> None:
        """Fold the pending values into the histogram and the counters (clamped to the
        histogram's range, 1 µs .. 1 h, as :func:`~dhakacart_bench.stats.hdr.to_us`)."""
        values = self.pending
        if not values:
            return
        low, high = min(values), max(values)
        if low < 1 or high > HDR_HIGHEST_US:
            values = array("q", (min(max(v, 1), HDR_HIGHEST_US) for v in values))
            low, high = max(low, 1), min(high, HDR_HIGHEST_US)
        record_values(self.hist, values)
        self.add_counts(len(values), 0, 0, sum(values), low, high)
        self.pending = array("q")

    def freeze(self) -> EndpointWindow:
        return EndpointWindow(
            requests=self.requests,
            failures=self.failures,
            bytes=self.bytes,
            sum_us=self.sum_us,
            min_us=self.min_us if self.requests else 0,
            max_us=self.max_us,
            histogram_b64=encode_histogram(self.hist),
        )


class _Recent:
    """A closed second, all endpoints merged, for :meth:`Recorder.live`: compact."""

    __slots__ = ("failures", "requests", "span")

    def __init__(self, requests: int, failures: int, span: CountsSpan | None) -> None:
        self.requests = requests
        self.failures = failures
        self.span = span


def _counts_of(live: _Live) -> EndpointCounts:
    return EndpointCounts(
        requests=live.requests,
        failures=live.failures,
        bytes=live.bytes,
        sum_us=live.sum_us,
        min_us=live.min_us if live.requests else 0,
        max_us=live.max_us,
    )


@dataclass(frozen=True)
class LiveStats:
    """Numbers for the progress line.

    ``rps``, ``p95_ms`` and ``error_pct`` cover the last ``window_s`` seconds (closed
    and still-open windows, up to ``now``); ``requests``/``failures`` the whole run.
    ``p95_ms`` is None when there were no requests in that span.
    """

    elapsed_s: float
    users: int
    rps: float
    p95_ms: float | None
    error_pct: float
    requests: int
    failures: int

    @property
    def total_error_pct(self) -> float:
        """Failures as a percentage of all requests so far."""
        return 100.0 * self.failures / self.requests if self.requests else 0.0


class Recorder:
    """Per-endpoint, per-second HDR recording of Locust request events.

    Not thread-safe: call it from one thread (Locust's event loop and a ticker
    greenlet in the same thread, as the runner does).
    """

    def __init__(self, *, run_start: float, max_errors: int = DEFAULT_MAX_ERRORS) -> None:
        self.run_start = run_start
        self.max_errors = max_errors
        # hot path: (epoch_second, request_type, name) -> live window
        self._open: dict[tuple[int, str, str], _Live] = {}
        # closed windows, compact: epoch_second -> WindowData
        self._closed: dict[int, WindowData] = {}
        # whole run, per endpoint (live histograms; one per endpoint)
        self._run: dict[str, _Live] = {}
        self._run_total = _Live()
        # merged all-endpoint histograms of the last closed seconds (for live()), compact
        self._recent: dict[int, _Recent] = {}
        self._users: dict[int, int] = {}
        self._last_users = 0
        self._generator: dict[int, tuple[float, float]] = {}
        self.errors = ErrorBook(max_errors)
        self.outcomes = OutcomeBook()

    # ---- hot path

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int | None,
        exception: BaseException | str | None = None,
        start_time: float | None = None,
        response: Any = None,
        context: Any = None,
        **kwargs: Any,
    ) -> None:
        """Locust ``events.request`` listener: record one request.

        The window is the request's completion second, ``int(start_time +
        response_time / 1000)`` (now, when ``start_time`` is None).
        """
        if start_time is None:
            second = int(time.time())
        else:
            second = int(start_time + response_time / 1000.0)
        key = (second, request_type, name)
        window = self._open.get(key)
        if window is None:
            window = self._open[key] = _Live()
        # counted, clamped and recorded into the histogram by the ticker (_Live.flush)
        window.pending.append(round(response_time * 1000))
        if response_length:
            window.bytes += response_length
        if exception is not None:
            window.failures += 1
            self.errors.record(
                f"{request_type} {name}",
                exception,
                getattr(response, "status_code", None),
                time.time() if start_time is None else start_time + response_time / 1000.0,
            )

    def on_outcome(self, name: str, units: int, when: float) -> None:
        """:func:`~dhakacart_bench.measure.outcomes.tally` listener: count one outcome."""
        self.outcomes.record(name, units, when)

    # ---- ticker

    def set_users(self, users: int, now: float | None = None) -> None:
        """The user count for the current second (carried forward to seconds without one)."""
        second = int(time.time() if now is None else now)
        self._users[second] = users
        self._last_users = users

    def set_generator_sample(self, cpu_pct: float, lag_ms: float, now: float | None = None) -> None:
        """A load-generator self-check sample (CPU %, event-loop lag) for the current second."""
        second = int(time.time() if now is None else now)
        self._generator[second] = (float(cpu_pct), float(lag_ms))

    def close_windows(self, now: float, grace_s: float = DEFAULT_GRACE_S) -> list[WindowData]:
        """Close every window whose second ended more than ``grace_s`` before ``now``.

        Each closed window is folded into the whole-run histograms and kept only in
        encoded form; its live histogram is freed. Returns what was closed by this
        call (for a window closed before and reopened by late requests, only the
        late part), sorted by second — exactly what a worker must ship.
        """
        cutoff = now - grace_s
        by_second: dict[int, dict[str, _Live]] = {}
        for key in [k for k in self._open if k[0] + 1 <= cutoff]:
            second, request_type, name = key
            by_second.setdefault(second, {})[f"{request_type} {name}"] = self._open.pop(key)
        closed = []
        for second in sorted(by_second):
            closed.append(self._close_second(second, by_second[second]))
        if closed:
            self._trim_recent(max(self._recent, default=0))
        return closed

    def _close_second(self, second: int, lives: dict[str, _Live]) -> WindowData:
        for live in lives.values():
            live.flush()
        delta = WindowData(second, {name: live.freeze() for name, live in lives.items()})
        merged = new_histogram()
        recent = self._recent.get(second) or _Recent(0, 0, None)
        add_span(merged, recent.span)
        for name, live in lives.items():
            run = self._run.get(name)
            if run is None:
                run = self._run[name] = _Live()
            add_histogram(merged, live.hist)
            recent.requests += live.requests
            recent.failures += live.failures
            for target in (run, self._run_total):
                add_histogram(target.hist, live.hist)
                target.add_counts(
                    live.requests, live.failures, live.bytes, live.sum_us, live.min_us, live.max_us
                )
        recent.span = counts_span(merged)
        release_histogram(merged)
        self._recent[second] = recent
        previous = self._closed.get(second)
        if previous is None:
            self._closed[second] = delta
        else:
            self._closed[second] = _merge_windows(previous, delta, lives)
        for live in lives.values():
            release_histogram(live.hist)
        return delta

    def _trim_recent(self, newest: int) -> None:
        for second in [s for s in self._recent if s <= newest - LIVE_MAX_WINDOW_S]:
            del self._recent[second]

    # ---- distributed

    def ingest(
        self,
        windows: Iterable[WindowData],
        errors: Iterable[dict[str, Any]] = (),
        outcomes: Iterable[dict[str, Any]] = (),
    ) -> None:
        """Merge windows, errors and outcomes from another recorder (a distributed
        worker), exactly.

        Windows become (or join) open windows here and are closed by the next
        :meth:`close_windows` / :meth:`finish`; a window for a second already closed
        is merged into it. ``errors`` are dicts as :meth:`drain_errors` returns,
        ``outcomes`` as :meth:`drain_outcomes` returns.
        """
        for window in windows:
            for endpoint, ew in window.endpoints.items():
                if not ew.requests:
                    continue
                request_type, _, name = endpoint.partition(" ")
                key = (window.epoch_second, request_type, name)
                live = self._open.get(key)
                if live is None:
                    live = self._open[key] = _Live()
                incoming = ew.histogram()
                add_histogram(live.hist, incoming)
                release_histogram(incoming)
                live.add_counts(ew.requests, ew.failures, ew.bytes, ew.sum_us, ew.min_us, ew.max_us)
        self.errors.ingest(errors)
        self.outcomes.ingest(outcomes)

    def drain_errors(self) -> list[dict[str, Any]]:
        """Error deltas since the last drain, for the master's :meth:`ingest`
        (see :meth:`~dhakacart_bench.measure.failures.ErrorBook.drain`)."""
        return self.errors.drain()

    def drain_outcomes(self) -> list[dict[str, Any]]:
        """Outcome tallies since the last drain, for the master's :meth:`ingest`
        (see :meth:`~dhakacart_bench.measure.outcomes.OutcomeBook.drain`)."""
        return self.outcomes.drain()

    # ---- reading

    def closed_windows(self) -> list[WindowData]:
        """Every window closed so far, by second (a late merge replaces its window)."""
        return [self._closed[s] for s in sorted(self._closed)]

    def live(self, now: float, window_s: int = DEFAULT_LIVE_WINDOW_S) -> LiveStats:
        """Progress numbers at ``now``; see :class:`LiveStats` (``window_s`` ≤ 30)."""
        window_s = max(1, min(int(window_s), LIVE_MAX_WINDOW_S))
        current = int(now)
        first = current - window_s + 1
        span = now - max(float(first), self.run_start)
        for live in self._open.values():
            live.flush()
        scratch = new_histogram()
        requests = failures = 0
        for second, recent in self._recent.items():
            if first <= second <= current:
                add_span(scratch, recent.span)
                requests += recent.requests
                failures += recent.failures
        for (second, _, _), live in self._open.items():
            if first <= second <= current:
                add_histogram(scratch, live.hist)
                requests += live.requests
                failures += live.failures
        p95 = values_at_percentiles(scratch, [95.0])[0] / 1000 if requests else None
        release_histogram(scratch)
        open_requests = sum(w.requests for w in self._open.values())
        open_failures = sum(w.failures for w in self._open.values())
        return LiveStats(
            elapsed_s=max(0.0, now - self.run_start),
            users=self._last_users,
            rps=requests / span if span > 0 else 0.0,
            p95_ms=p95,
            error_pct=100.0 * failures / requests if requests else 0.0,
            requests=self._run_total.requests + open_requests,
            failures=self._run_total.failures + open_failures,
        )

    def finish(self, end_time: float) -> Measurements:
        """Close every window and build the run's :class:`Measurements`."""
        self.close_windows(math.inf, 0.0)
        first = math.floor(self.run_start)
        windows = [self._closed[s] for s in sorted(self._closed)]
        last = max(math.floor(end_time), windows[-1].epoch_second if windows else first) - first

        users_by_second: dict[int, int] = {}
        earlier = [s for s in self._users if s < first]
        current = self._users[max(earlier)] if earlier else 0
        for index in range(last + 1):
            current = self._users.get(first + index, current)
            users_by_second[index] = current

        return Measurements(
            run_start=self.run_start,
            run_end=end_time,
            duration_s=max(0.0, end_time - self.run_start),
            endpoints={name: live.hist for name, live in self._run.items()},
            total=self._run_total.hist,
            counts={name: _counts_of(live) for name, live in self._run.items()},
            total_counts=_counts_of(self._run_total),
            windows=windows,
            users_by_second=users_by_second,
            generator_by_second={s - first: v for s, v in sorted(self._generator.items())},
            errors=self.errors.records(self.run_start),
            errors_overflow=self.errors.overflow,
        )


def _merge_windows(previous: WindowData, delta: WindowData, lives: dict[str, _Live]) -> WindowData:
    """``previous`` plus late data for the same second (``lives`` are delta's live histograms)."""
    endpoints = dict(previous.endpoints)
    for name, new in delta.endpoints.items():
        old = endpoints.get(name)
        if old is None:
            endpoints[name] = new
            continue
        hist = old.histogram()
        add_histogram(hist, lives[name].hist)
        encoded = encode_histogram(hist)
        release_histogram(hist)
        endpoints[name] = EndpointWindow(
            requests=old.requests + new.requests,
            failures=old.failures + new.failures,
            bytes=old.bytes + new.bytes,
            sum_us=old.sum_us + new.sum_us,
            min_us=min(old.min_us, new.min_us),
            max_us=max(old.max_us, new.max_us),
            histogram_b64=encoded,
        )
    return WindowData(previous.epoch_second, endpoints)
