"""An in-process fixed-window rate limiter keyed by (client IP, bucket).

Per process: with N gunicorn workers a client may get up to N x the limit.
That is the behaviour of the original store, and enough to make a load test
meet 429s; a shared limiter would need Redis or the database on the hot path.
"""

from __future__ import annotations

import math
import re
import threading
import time

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


def parse_rate(spec: str) -> tuple[int, float]:
    """``"5/minute"`` -> (5, 60.0); ``"10/30second"`` -> (10, 30.0)."""
    match = _SPEC.match(spec)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"invalid rate limit {spec!r}: expected e.g. '5/minute'")
    count, mult, unit = match.groups()
    return int(count), float((int(mult) if mult else 1) * _UNITS[unit])


class FixedWindowLimiter:
    def __init__(self, limit: int, window_s: float, clock: object = time.time) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, bucket: str) -> float | None:
        """Count one request; None when allowed, else seconds until the window resets."""
        now: float = self._clock()  # type: ignore[operator]
        window = int(now // self.window_s)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            win, count = self._counts.get((key, bucket), (window, 0))
            if win != window:
                count = 0
            count += 1
            self._counts[(key, bucket)] = (window, count)
        if count > self.limit:
            return max((window + 1) * self.window_s - now, 0.0)
        return None

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
