"""The recorder: exact, mergeable latency measurements from Locust request events.

The runner attaches :meth:`Recorder.on_request` to Locust's ``events.request`` and
calls :meth:`Recorder.close_windows`, :meth:`Recorder.set_users` and
:meth:`Recorder.live` from a one-second ticker. Every request is recorded, in
integer microseconds, into an HDR histogram for its (completion second,
endpoint) window. A window is closed a moment after its second ends: its
histogram is folded into the whole-run histogram of its endpoint and kept only
in encoded (compact) form, so memory stays flat over long runs. Closed windows
are plain :class:`WindowData` values that a distributed worker ships to the
master, which merges them exactly with :meth:`Recorder.ingest`.

This module never imports locust (it is imported by the CLI and by analysis
code); the request listener only duck-types Locust's event arguments.

Units: histograms record integer microseconds (see :func:`to_us`); everything a
person reads (summary, live stats) is in milliseconds. See docs/run-folder.md.
"""

from __future__ import annotations

import ast
import math
import re
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from hdrh.histogram import HdrHistogram

HDR_LOWEST_US = 1
HDR_HIGHEST_US = 3_600_000_000
HDR_SIGNIFICANT_FIGURES = 3

DEFAULT_MAX_ERRORS = 1000
DEFAULT_GRACE_S = 2.0
DEFAULT_LIVE_WINDOW_S = 10
#: How many closed seconds of merged (all-endpoint) histograms are kept for live().
LIVE_MAX_WINDOW_S = 30
#: Longest error message kept, in characters.
MAX_MESSAGE_CHARS = 300

SUMMARY_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50_ms", 50.0),
    ("p90_ms", 90.0),
    ("p95_ms", 95.0),
    ("p99_ms", 99.0),
    ("p999_ms", 99.9),
)
TOTAL = "*"

ERROR_KINDS = ("http_status", "connection", "timeout", "validation", "exception")


# --------------------------------------------------------------------------- histograms


def new_histogram() -> HdrHistogram:
    """An empty histogram with the run-folder settings (1 µs .. 1 h, 3 significant figures)."""
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_SIGNIFICANT_FIGURES)


def to_us(response_time_ms: float) -> int:
    """A response time in ms as the integer µs a histogram records: ``max(1, round(ms * 1000))``.

    Values above the histogram's range are clamped to :data:`HDR_HIGHEST_US`.
    """
    us = round(response_time_ms * 1000)
    if us < 1:
        return 1
    if us > HDR_HIGHEST_US:
        return HDR_HIGHEST_US
    return int(us)


def encode_histogram(hist: HdrHistogram) -> str:
    """The standard base64 "compressed" HdrHistogram encoding, as text."""
    encoded = hist.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else encoded


def decode_histogram(encoded: str) -> HdrHistogram:
    """Decode :func:`encode_histogram` output (or any V2 base64 HdrHistogram)."""
    return HdrHistogram.decode(encoded)


def add_histogram(into: HdrHistogram, other: HdrHistogram) -> None:
    """``into += other``, exactly. Adding an empty histogram is a no-op.

    (hdrh's ``add`` would reset ``into``'s minimum to 0 when ``other`` is empty.)
    """
    if other.get_total_count():
        into.add(other)


def release_histogram(hist: HdrHistogram) -> None:
    """Free ``hist``'s ~188 KB counts array now rather than at the next full GC.

    hdrh histograms and their encoders reference each other (a cycle), so a dropped
    histogram waits for the cyclic garbage collector; breaking the cycle lets
    reference counting free it at once. Do not use ``hist`` afterwards.
    """
    encoder = getattr(hist, "encoder", None)
    if encoder is not None:
        encoder.histogram = None


def values_at_percentiles(hist: HdrHistogram, percentiles: Sequence[float]) -> list[int]:
    """Like ``[hist.get_value_at_percentile(p) for p in percentiles]``, but in one fast pass.

    Same convention as hdrh: the target rank is ``max(1, int(p * count / 100 + 0.5))``
    and the value returned is the highest value equivalent to (in the same HDR bucket
    as) the sample at that rank — at most 0.1% above it with 3 significant figures.
    An empty histogram gives 0 for every percentile.
    """
    total = hist.get_total_count()
    if not total:
        return [0 for _ in percentiles]
    limit = hist.get_counts_array_index(hist.max_value) + 1
    first = min(hist.get_counts_array_index(max(hist.min_value, 0)), limit - 1)
    if hist.counts[0]:
        first = 0
    cumulative = list(accumulate(hist.counts[first:limit]))
    values = []
    for p in percentiles:
        target = max(int(min(p, 100.0) * total / 100 + 0.5), 1)
        index = first + min(bisect_left(cumulative, target), limit - first - 1)
        value = hist.get_value_from_index(index)
        if p:
            values.append(hist.get_highest_equivalent_value(value))
        else:
            values.append(hist.get_lowest_equivalent_value(value))
    return values


def histogram_counts(hist: HdrHistogram) -> list[int]:
    """The bucket counts up to the highest non-empty one (for exact equality checks)."""
    if not hist.get_total_count():
        return []
    return list(hist.counts[: hist.get_counts_array_index(hist.max_value) + 1])


# --------------------------------------------------------------------------- errors

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{4,}")
_SPACE_RE = re.compile(r"\s+")
_REPR_NAME_RE = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)$", re.DOTALL)

_TIMEOUT_NAMES = frozenset(
    {
        "Timeout",
        "TimeoutError",
        "timeout",
        "ReadTimeout",
        "ConnectTimeout",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "TimeoutException",
        "ConnectTimeoutException",
    }
)
_CONNECTION_NAMES = frozenset(
    {
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "HTTPConnectionClosed",
        "RemoteDisconnected",
        "NewConnectionError",
        "MaxRetryError",
        "ProtocolError",
        "SSLError",
        "SSLZeroReturnError",
        "gaierror",
        "herror",
        "OSError",
    }
)
_BAD_STATUS_NAMES = frozenset({"LocustBadStatusCode", "HTTPError", "HTTPStatusError"})
_VALIDATION_NAMES = frozenset({"CatchResponseError", "AssertionError"})


def _normalise_message(text: str) -> str:
    text = _ADDRESS_RE.sub("0x...", text)
    text = _SPACE_RE.sub(" ", text).strip()
    return text[:MAX_MESSAGE_CHARS]


def _class_names(exception: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exception).__mro__]


def _unwrap_repr_argument(argument: str) -> str:
    """``"'out of stock'"`` → ``out of stock`` (a repr'd single argument), else unchanged."""
    try:
        value = ast.literal_eval(argument)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return argument
    return value if isinstance(value, str) else argument


def classify_failure(
    exception: BaseException | str | None, status: int | None
) -> tuple[str, int | None, str]:
    """Classify one failed request as ``(kind, status, message)``.

    ``kind`` is one of ``http_status``, ``connection``, ``timeout``, ``validation``
    (a 2xx/3xx response that a check rejected), ``exception``. ``status`` 0 — how
    Locust's FastHttpUser reports "no response" — becomes None. ``exception`` may be
    the exception object (local runs) or its ``repr`` string (what Locust ships
    between processes). ``message`` is normalised so that equal failures dedupe:
    memory addresses become ``0x...``, whitespace is collapsed, at most 300 chars.
    """
    http_status = status if isinstance(status, int) and status >= 100 else None

    if exception is None:
        names: list[str] = []
        message = f"HTTP {http_status}" if http_status is not None else "request failed"
    elif isinstance(exception, str):
        match = _REPR_NAME_RE.match(exception.strip())
        if match:
            names = [match.group(1).rsplit(".", 1)[-1]]
            argument = match.group(2)
            message = (
                _unwrap_repr_argument(argument) if names[0] == "CatchResponseError" else exception
            )
        else:
            names = []
            message = exception
    else:
        names = _class_names(exception)
        if names[0] == "CatchResponseError":
            message = str(exception.args[0]) if exception.args else "CatchResponseError"
        else:
            message = repr(exception)

    name_set = set(names)
    if http_status is not None:
        if http_status >= 400:
            kind = "http_status"
            if name_set & _BAD_STATUS_NAMES or exception is None:
                message = f"HTTP {http_status}"
        elif name_set & _VALIDATION_NAMES:
            kind = "validation"
        elif name_set & _BAD_STATUS_NAMES:
            # e.g. a 1xx/3xx status that Locust's valid_response_codes rejected
            kind = "http_status"
            message = f"HTTP {http_status}"
        else:
            kind = "exception"
    elif name_set & _TIMEOUT_NAMES:
        kind = "timeout"
    elif name_set & _CONNECTION_NAMES:
        kind = "connection"
    elif not names and isinstance(exception, str) and "timed out" in exception.lower():
        kind = "timeout"
    else:
        kind = "exception"
    return kind, http_status, _normalise_message(message)


@dataclass(frozen=True)
class ErrorKey:
    """What errors are deduplicated on."""

    endpoint: str
    kind: str
    status: int | None
    message: str


@dataclass
class _ErrorTally:
    count: int
    first_seen: float  # epoch seconds
    last_seen: float

    def add(self, count: int, first_seen: float, last_seen: float) -> None:
        self.count += count
        self.first_seen = min(self.first_seen, first_seen)
        self.last_seen = max(self.last_seen, last_seen)


# --------------------------------------------------------------------------- windows


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


class _Live:
    """A window still being recorded into: a live histogram plus exact counters."""

    __slots__ = ("bytes", "failures", "hist", "max_us", "min_us", "requests", "sum_us")

    def __init__(self) -> None:
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


@dataclass(frozen=True)
class EndpointCounts:
    """Exact whole-run counters of one endpoint (or of all, ``"*"``)."""

    requests: int = 0
    failures: int = 0
    bytes: int = 0
    sum_us: int = 0
    min_us: int = 0
    max_us: int = 0


def _counts_of(live: _Live) -> EndpointCounts:
    return EndpointCounts(
        requests=live.requests,
        failures=live.failures,
        bytes=live.bytes,
        sum_us=live.sum_us,
        min_us=live.min_us if live.requests else 0,
        max_us=live.max_us,
    )


# --------------------------------------------------------------------------- results


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


def _endpoint_summary(
    name: str, counts: EndpointCounts, hist: HdrHistogram, duration_s: float
) -> dict[str, Any]:
    method = name.split(" ", 1)[0] if name != TOTAL else None
    row: dict[str, Any] = {"name": name}
    if name != TOTAL:
        row["method"] = method
    n = counts.requests
    row.update(
        count=n,
        failures=counts.failures,
        failure_rate=counts.failures / n if n else 0.0,
        rps=round(n / duration_s, 3) if duration_s > 0 else 0.0,
        bytes=counts.bytes,
    )
    if not n:
        row.update(min_ms=None, mean_ms=None, max_ms=None)
        row.update({key: None for key, _ in SUMMARY_PERCENTILES})
        return row
    values = values_at_percentiles(hist, [p for _, p in SUMMARY_PERCENTILES])
    row["min_ms"] = counts.min_us / 1000
    row["mean_ms"] = round(counts.sum_us / n / 1000, 3)
    for (key, _), value in zip(SUMMARY_PERCENTILES, values, strict=True):
        row[key] = clamp_us(value, counts.min_us, counts.max_us) / 1000
    row["max_ms"] = counts.max_us / 1000
    # keep the documented key order: ..., min, mean, p50..p999, max
    order = ["name", "method", "count", "failures", "failure_rate", "rps", "bytes", "min_ms"]
    order += ["mean_ms"] + [key for key, _ in SUMMARY_PERCENTILES] + ["max_ms"]
    return {key: row[key] for key in order if key in row}


def clamp_us(value: int, min_us: int, max_us: int) -> int:
    """An HDR percentile clamped to the exact [min, max] of the recorded values."""
    return min(max(value, min_us), max_us)


@dataclass(frozen=True)
class Measurements:
    """Everything one run measured — the plain result the run folder is written from.

    Seconds in ``users_by_second``/``generator_by_second`` are indices since the run
    start (``epoch_second - floor(run_start)``), dense for users (carried forward),
    sparse for generator samples. ``windows`` are sorted by ``epoch_second``.
    ``errors`` are dicts in the errors.json shape.
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
    errors: list[dict[str, Any]] = field(default_factory=list)
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

    def summary(self) -> dict[str, Any]:
        """The summary.json dict (see docs/run-folder.md)."""
        return {
            "duration_s": round(self.duration_s, 3),
            "endpoints": [
                _endpoint_summary(name, self.counts[name], self.endpoints[name], self.duration_s)
                for name in sorted(self.endpoints)
            ],
            "total": _endpoint_summary(TOTAL, self.total_counts, self.total, self.duration_s),
        }


# --------------------------------------------------------------------------- recorder


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
        # merged all-endpoint histograms of the last closed seconds (for live())
        self._recent: dict[int, _Live] = {}
        self._users: dict[int, int] = {}
        self._last_users = 0
        self._generator: dict[int, tuple[float, float]] = {}
        self._errors: dict[ErrorKey, _ErrorTally] = {}
        self._errors_overflow = 0
        self._pending_errors: dict[ErrorKey, _ErrorTally] = {}
        self._pending_overflow = 0

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
        us = round(response_time * 1000)
        if us < 1:
            us = 1
        elif us > HDR_HIGHEST_US:
            us = HDR_HIGHEST_US
        window.hist.record_value(us)
        window.requests += 1
        window.sum_us += us
        if us < window.min_us:
            window.min_us = us
        if us > window.max_us:
            window.max_us = us
        if response_length:
            window.bytes += response_length
        if exception is not None:
            window.failures += 1
            self._record_error(
                f"{request_type} {name}",
                exception,
                getattr(response, "status_code", None),
                time.time() if start_time is None else start_time + response_time / 1000.0,
            )

    def _record_error(
        self, endpoint: str, exception: BaseException | str, status: int | None, when: float
    ) -> None:
        kind, status, message = classify_failure(exception, status)
        self._add_error(ErrorKey(endpoint, kind, status, message), 1, when, when)

    def _add_error(self, key: ErrorKey, count: int, first: float, last: float) -> None:
        for table, is_pending in ((self._errors, False), (self._pending_errors, True)):
            tally = table.get(key)
            if tally is not None:
                tally.add(count, first, last)
            elif len(table) < self.max_errors:
                table[key] = _ErrorTally(count, first, last)
            elif is_pending:
                self._pending_overflow += count
            else:
                self._errors_overflow += count

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
        delta = WindowData(second, {name: live.freeze() for name, live in lives.items()})
        recent = self._recent.get(second)
        if recent is None:
            recent = self._recent[second] = _Live()
        for name, live in lives.items():
            run = self._run.get(name)
            if run is None:
                run = self._run[name] = _Live()
            for target in (run, self._run_total, recent):
                add_histogram(target.hist, live.hist)
                target.add_counts(
                    live.requests, live.failures, live.bytes, live.sum_us, live.min_us, live.max_us
                )
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
            release_histogram(self._recent.pop(second).hist)

    # ---- distributed

    def ingest(self, windows: Iterable[WindowData], errors: Iterable[dict[str, Any]] = ()) -> None:
        """Merge windows and errors from another recorder (a distributed worker), exactly.

        Windows become (or join) open windows here and are closed by the next
        :meth:`close_windows` / :meth:`finish`; a window for a second already closed
        is merged into it. ``errors`` are dicts as :meth:`drain_errors` returns.
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
        for error in errors:
            if set(error) == {"overflow"}:
                self._errors_overflow += int(error["overflow"])
                self._pending_overflow += int(error["overflow"])
                continue
            error_key = ErrorKey(
                str(error["endpoint"]),
                str(error["kind"]),
                None if error.get("status") is None else int(error["status"]),
                str(error["message"]),
            )
            self._add_error(
                error_key,
                int(error["count"]),
                float(error["first_seen_at"]),
                float(error["last_seen_at"]),
            )

    def drain_errors(self) -> list[dict[str, Any]]:
        """Error deltas since the last drain, for shipping to the master's :meth:`ingest`.

        Each dict has endpoint, kind, status, message, count and ``first_seen_at`` /
        ``last_seen_at`` (epoch seconds: workers' run starts differ). Occurrences
        that did not fit in ``max_errors`` come as one extra ``{"overflow": n}``.
        """
        drained: list[dict[str, Any]] = [
            {
                "endpoint": key.endpoint,
                "kind": key.kind,
                "status": key.status,
                "message": key.message,
                "count": tally.count,
                "first_seen_at": tally.first_seen,
                "last_seen_at": tally.last_seen,
            }
            for key, tally in self._pending_errors.items()
        ]
        if self._pending_overflow:
            drained.append({"overflow": self._pending_overflow})
        self._pending_errors = {}
        self._pending_overflow = 0
        return drained

    # ---- reading

    def live(self, now: float, window_s: int = DEFAULT_LIVE_WINDOW_S) -> LiveStats:
        """Progress numbers at ``now``; see :class:`LiveStats` (``window_s`` ≤ 30)."""
        window_s = max(1, min(int(window_s), LIVE_MAX_WINDOW_S))
        current = int(now)
        first = current - window_s + 1
        span = now - max(float(first), self.run_start)
        scratch = new_histogram()
        requests = failures = 0
        for second, recent in self._recent.items():
            if first <= second <= current:
                add_histogram(scratch, recent.hist)
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

        errors = [
            {
                "endpoint": key.endpoint,
                "kind": key.kind,
                "status": key.status,
                "message": key.message,
                "count": tally.count,
                "first_seen_s": round(tally.first_seen - self.run_start, 3),
                "last_seen_s": round(tally.last_seen - self.run_start, 3),
            }
            for key, tally in sorted(
                self._errors.items(), key=lambda item: (-item[1].count, item[1].first_seen)
            )
        ]
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
            errors=errors,
            errors_overflow=self._errors_overflow,
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
