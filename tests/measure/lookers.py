"""Picklable lookers for tests/measure/test_lookproc.py (a spawned child imports them)."""

from __future__ import annotations

import os
from typing import Any


class Counting:
    """Answers with what it has been sent so far, per arm: the seconds it holds."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = [[], []]

    def __call__(self, t_s: float, upto_s: int, candidate: Any, baseline: Any) -> str:
        for arm, windows in enumerate((candidate, baseline)):
            self.seen[arm].extend(w.epoch_second for w in windows)
        return f"{t_s:g} {upto_s} {self.seen[0]} {self.seen[1]} pid {os.getpid()}"


class Failing:
    def __call__(self, t_s: float, upto_s: int, candidate: Any, baseline: Any) -> str:
        raise ValueError("no data like this")


class Dying:
    def __call__(self, t_s: float, upto_s: int, candidate: Any, baseline: Any) -> str:
        os._exit(3)
