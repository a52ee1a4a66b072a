"""Failure classes: what went wrong with a failed request, deduplicated.

:func:`classify_failure` turns Locust's exception (an object locally, its ``repr`` from a
worker) and status into a kind — ``http_status``, ``connection``, ``timeout``,
``validation`` (a 2xx answer a check rejected) or ``exception`` — and a normalised
message, so that equal failures count as one error with a count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dhakacart_bench.runfolder.meta import ErrorRecord

#: Longest error message kept, in characters.
MAX_MESSAGE_CHARS = 300
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
class _Tally:
    count: int
    first_seen: float  # epoch seconds
    last_seen: float

    def add(self, count: int, first_seen: float, last_seen: float) -> None:
        self.count += count
        self.first_seen = min(self.first_seen, first_seen)
        self.last_seen = max(self.last_seen, last_seen)


class ErrorBook:
    """The run's failures, deduplicated on :class:`ErrorKey`, with counts and first/last seen.

    At most ``max_errors`` distinct failures are kept; further occurrences of new ones
    are counted in :attr:`overflow`. A second table holds what arrived since the last
    :meth:`drain` — what a distributed worker ships to its master.
    """

    def __init__(self, max_errors: int) -> None:
        self.max_errors = max_errors
        self._all: dict[ErrorKey, _Tally] = {}
        self._pending: dict[ErrorKey, _Tally] = {}
        self.overflow = 0
        self._pending_overflow = 0

    def record(
        self, endpoint: str, exception: BaseException | str, status: int | None, when: float
    ) -> None:
        """One failed request of ``endpoint`` at epoch second ``when``."""
        kind, status, message = classify_failure(exception, status)
        self._add(ErrorKey(endpoint, kind, status, message), 1, when, when)

    def _add(self, key: ErrorKey, count: int, first: float, last: float) -> None:
        for table, is_pending in ((self._all, False), (self._pending, True)):
            tally = table.get(key)
            if tally is not None:
                tally.add(count, first, last)
            elif len(table) < self.max_errors:
                table[key] = _Tally(count, first, last)
            elif is_pending:
                self._pending_overflow += count
            else:
                self.overflow += count

    def ingest(self, errors: Iterable[dict[str, Any]]) -> None:
        """Merge another book's :meth:`drain` output (a distributed worker's errors)."""
        for error in errors:
            if set(error) == {"overflow"}:
                self.overflow += int(error["overflow"])
                self._pending_overflow += int(error["overflow"])
                continue
            key = ErrorKey(
                str(error["endpoint"]),
                str(error["kind"]),
                None if error.get("status") is None else int(error["status"]),
                str(error["message"]),
            )
            self._add(
                key,
                int(error["count"]),
                float(error["first_seen_at"]),
                float(error["last_seen_at"]),
            )

    def drain(self) -> list[dict[str, Any]]:
        """Error deltas since the last drain, for shipping to a master.

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
            for key, tally in self._pending.items()
        ]
        if self._pending_overflow:
            drained.append({"overflow": self._pending_overflow})
        self._pending = {}
        self._pending_overflow = 0
        return drained

    def records(self, run_start: float) -> tuple[ErrorRecord, ...]:
        """errors.json: every failure kept, most frequent first, times since ``run_start``."""
        return tuple(
            ErrorRecord(
                endpoint=key.endpoint,
                kind=key.kind,
                status=key.status,
                message=key.message,
                count=tally.count,
                first_seen_s=round(tally.first_seen - run_start, 3),
                last_seen_s=round(tally.last_seen - run_start, 3),
            )
            for key, tally in sorted(
                self._all.items(), key=lambda item: (-item[1].count, item[1].first_seen)
            )
        )
