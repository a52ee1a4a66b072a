"""Durations and formatting for people."""

from __future__ import annotations

import pytest

from dhakacart_bench.humanize import (
    fmt_availability,
    fmt_duration_words,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("2m", 120),
        ("1h30m", 5400),
        ("1m30s", 90),
        ("1h2m3s", 3723),
        ("2.5m", 150),
        ("45", 45),
        (30, 30),
        (1.5, 1.5),
        ("0s", 0),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "m", "10 minutes", "1s30m", "-5s", "-5", "nan", True, [1], -1])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(15, "15s"), (2.5, "2.5s"), (60, "1m"), (90, "1m30s"), (5400, "1h30m"), (3600, "1h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_formatting_of_availability_and_durations() -> None:
    assert fmt_availability(99.95) == "99.95%"
    assert fmt_availability(99.9) == "99.9%"
    assert fmt_availability(99.9996) == "99.9996%"  # never rounded up to 100%
    assert fmt_availability(100.0) == "100%"
    assert fmt_availability(87.123) == "87.1%"
    assert fmt_duration_words(0) == "0 s"
    assert fmt_duration_words(1296) == "22 min"
    assert fmt_duration_words(7.2 * 3600) == "7.2 h"
