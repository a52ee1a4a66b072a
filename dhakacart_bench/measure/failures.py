"""Failure classes: what went wrong with a failed request, deduplicated.

:func:`classify_failure` turns Locust's exception (an object locally, its ``repr`` from a
worker) and status into a kind — ``http_status``, ``connection``, ``timeout``,
``validation`` (a 2xx answer a check rejected) or ``exception`` — and a normalised
message, so that equal failures count as one error with a count.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

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
