"""Failure classes: kinds and normalised messages."""

from __future__ import annotations

import pytest

from dhakacart_bench.measure.failures import MAX_MESSAGE_CHARS, classify_failure


class CatchResponseError(Exception):
    """Stand-in for locust.exception.CatchResponseError (metrics never imports locust)."""


class LocustBadStatusCode(ConnectionError):
    """Stand-in for locust.contrib.fasthttp.LocustBadStatusCode."""


class Timeout(BaseException):
    """Stand-in for gevent.timeout.Timeout."""


@pytest.mark.parametrize(
    ("exception", "status", "expected"),
    [
        (CatchResponseError("out of stock"), 409, ("http_status", 409, "out of stock")),
        (CatchResponseError("body lacks id"), 200, ("validation", 200, "body lacks id")),
        (LocustBadStatusCode("http://x/a", 404), 404, ("http_status", 404, "HTTP 404")),
        (ConnectionRefusedError(111, "Connection refused"), 0, ("connection", None, None)),
        (ConnectionResetError(104, "reset by peer"), 0, ("connection", None, None)),
        (TimeoutError("timed out"), 0, ("timeout", None, None)),
        (Timeout(), None, ("timeout", None, None)),
        (ValueError("bad json"), 200, ("exception", 200, None)),
        (KeyError("id"), None, ("exception", None, None)),
        ("CatchResponseError('wrong total')", 200, ("validation", 200, "wrong total")),
        ("ConnectionRefusedError(111, 'Connection refused')", 0, ("connection", None, None)),
        ("RemoteDisconnected('closed')", None, ("connection", None, None)),
        ("something timed out", None, ("timeout", None, None)),
        (None, 503, ("http_status", 503, "HTTP 503")),
    ],
)
def test_classify_failure(
    exception: BaseException | str | None, status: int | None, expected: tuple
) -> None:
    kind, got_status, message = classify_failure(exception, status)
    assert (kind, got_status) == expected[:2]
    if expected[2] is not None:
        assert message == expected[2]
    assert message


def test_classify_failure_normalises_messages() -> None:
    a = classify_failure(ValueError("<Foo object at 0x7f3a9c2b1d90>"), None)[2]
    b = classify_failure(ValueError("<Foo object at 0x7f00deadbeef>"), None)[2]
    assert a == b
    assert "0x..." in a
    long = classify_failure(CatchResponseError("x" * 1000 + "\n  tail"), 200)[2]
    assert len(long) == MAX_MESSAGE_CHARS
