"""Words and numbers for people: every ``fmt_*`` helper, and durations both ways.

Pure functions, no I/O, no imports from the rest of the package: the lowest layer,
so the scenario parser, the analysis, the reports and the CLI all format the same
way. :func:`parse_duration` turns a scenario's or a flag's ``"90s"`` / ``"2m"`` /
``"1h30m"`` / seconds into seconds (a :class:`ValueError` with a message fit to show a
user); :func:`format_duration` turns seconds back into that short form.
"""

from __future__ import annotations

import math
import re
from typing import Any

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


def fmt_ms(ms: float | None) -> str:
    """A latency for people: ``480 ms``, ``1.2 s``; ``—`` when unknown."""
    if ms is None:
        return "—"
    if ms >= 1000:
        s = ms / 1000
        return f"{s:.0f} s" if abs(s - round(s)) < 0.05 else f"{s:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms"


def fmt_pct(rate: float | None) -> str:
    """A rate as a percentage with sensible precision (``0.25%``)."""
    if rate is None:
        return "—"
    pct = rate * 100
    if pct == 0:
        return "0%"
    return f"{pct:.3g}%" if pct < 10 else f"{pct:.1f}%"


def signed_change(pct: float | None) -> str:
    """A relative change: ``+12%``, ``-3.5%``, or a ratio (``x41``) past +100%."""
    if pct is None:
        return "—"
    if pct >= 100:
        ratio = 1 + pct / 100
        times = "\u00d7"  # multiplication sign
        return f"{times}{ratio:,.1f}" if ratio < 10 else f"{times}{ratio:,.0f}"
    return f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"


def pct_change(ratio: float) -> str:
    """A ratio as a signed change: 1.125 → ``+12.5%``."""
    return f"{(ratio - 1) * 100:+.1f}%"


def fmt_availability(pct: float | None) -> str:
    """``99.95%``: enough digits to tell 99.9 from 99.99, never rounded up to 100."""
    if pct is None:
        return "—"
    if pct >= 100:
        return "100%"
    for digits in range(1, 6):
        text = f"{pct:.{digits}f}"
        if float(text) < 100 and (pct < 99 or digits >= 2):
            return text.rstrip("0").rstrip(".") + "%"
    return f"{pct:.5f}%"


def fmt_duration_words(seconds: float | None) -> str:
    """``0 s``, ``45 s``, ``22 min``, ``3.6 h``, ``2.1 days``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == 0 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def fmt_ms_compact(value: Any) -> str:
    """A latency for a fixed-width column, unit given by the column (ms): ``4.7``,
    ``480``; ``12.3s`` (with its own unit) from 10 s up; ``-`` when unknown."""
    if value is None or value == "":
        return "-"
    value = float(value)
    if value >= 10_000:
        return f"{value / 1000:.1f}s"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def plural(count: int, noun: str) -> str:
    """``1 stage``, ``3 stages``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def fmt_number(value: float) -> str:
    """A number as written in a scenario file: ``500``, ``0.25``."""
    return f"{value:g}"


def fmt_memory(peak_mib: float | None, kib_per_user: float | None = None) -> str:
    """``", peak memory 1.21 GiB (25.3 KiB/user)"`` — the generator's memory beside its
    CPU and loop lag; empty when the run did not record it."""
    if peak_mib is None:
        return ""
    size = f"{peak_mib / 1024:.2f} GiB" if peak_mib >= 1024 else f"{peak_mib:.0f} MiB"
    per_user = f" ({kib_per_user:.1f} KiB/user)" if kib_per_user is not None else ""
    return f", peak memory {size}{per_user}"


def fmt_rps(value: float | None) -> str:
    """A request rate without its unit: ``1,180``, ``95.3``, ``4.25``; ``—`` when unknown."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
