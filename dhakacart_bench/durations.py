"""Durations as scenario files write them: ``"90s"``, ``"2m"``, ``"1h30m"``, ``"1m30s"`` or seconds.

Pure functions, no I/O: :func:`parse_duration` turns a TOML value into seconds
(raising :class:`ValueError` with a message fit to show a user), and
:func:`format_duration` turns seconds back into the short form for tables.
"""

from __future__ import annotations

import math
import re

_DURATION_RE = re.compile(
    r"""^\s*
    (?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*
    (?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*
    (?:(?P<s>\d+(?:\.\d+)?)\s*s)?
    \s*$""",
    re.VERBOSE,
)

DURATION_HELP = 'a duration such as "90s", "2m", "1h30m", "1m30s" or a number of seconds'


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds.

    Accepts a non-negative int or float (seconds), a string of digits
    (seconds) or a string of ``h``/``m``/``s`` parts in that order
    (``"1h30m"``, ``"1m30s"``, ``"2.5m"``). Booleans are not numbers here.

    >>> parse_duration("1m30s")
    90.0
    """
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}, got {str(value).lower()} (a boolean)")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            match = _DURATION_RE.match(text)
            if not text or match is None or not any(match.group(g) for g in "hms"):
                raise ValueError(f'expected {DURATION_HELP}, got "{value}"') from None
            seconds = (
                float(match.group("h") or 0) * 3600
                + float(match.group("m") or 0) * 60
                + float(match.group("s") or 0)
            )
    else:
        raise ValueError(f"expected {DURATION_HELP}, got {type(value).__name__} {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected {DURATION_HELP} (not negative), got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds the way scenario files write them: ``90`` → ``"1m30s"``.

    Fractions of a second are kept only below one minute (``"2.5s"``).
    """
    if seconds < 60:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs:
        parts.append(f"{secs}s")
    return "".join(parts)
