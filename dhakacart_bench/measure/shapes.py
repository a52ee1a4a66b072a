"""Load shapes: where the load should be at elapsed time ``t``.

Pure maths over a :class:`~dhakacart_bench.scenario.model.LoadSpec` first
(:func:`target_at`, :func:`arrival_rate_at`, :func:`expected_arrivals`), then
:func:`make_shape_class`, which wraps :func:`target_at` in a Locust ``LoadTestShape``
(locust is imported only inside that function).

Stages are half-open intervals ``[start, end)``: at a boundary the next stage applies;
at or after the end of the last stage the shape is over (None). Closed model: during
stage *i* the target is ``stage.users``, approached at ``stage.spawn_rate`` users/s, or
by default at ``|users - previous users| / duration`` (at least 1/s; the first stage
ramps from 0). Open model: the shape keeps a pool of ``max_users`` users; the runner
releases iterations to them at :func:`arrival_rate_at` per second.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import LoadSpec, Stage


OPEN_POOL_FILL_S = 2.0
"""Open model: the pool of ``max_users`` is spawned over about this many seconds."""
MIN_SPAWN_RATE = 1.0


def stage_starts(load: LoadSpec) -> list[float]:
    """Start time of each stage, in seconds since the run started."""
    return list(itertools.accumulate((s.duration_s for s in load.stages[:-1]), initial=0.0))


def _locate(load: LoadSpec, t: float) -> tuple[int, float] | None:
    """(index of the stage running at ``t``, its start), or None at/after the end."""
    t = max(0.0, t)
    start = 0.0
    for index, stage in enumerate(load.stages):
        end = start + stage.duration_s
        if t < end:
            return index, start
        start = end
    return None


def spawn_rate_of(load: LoadSpec, index: int) -> float:
    """Closed model: the spawn rate of stage ``index`` (explicit, or the default ramp)."""
    stage = load.stages[index]
    if stage.spawn_rate is not None:
        return stage.spawn_rate
    previous = load.stages[index - 1].users if index > 0 else 0
    change = abs((stage.users or 0) - (previous or 0))
    return max(MIN_SPAWN_RATE, change / stage.duration_s)


def open_pool_spawn_rate(load: LoadSpec) -> float:
    """Open model: the spawn rate that fills the pool within :data:`OPEN_POOL_FILL_S`."""
    return max(MIN_SPAWN_RATE, (load.max_users or 0) / OPEN_POOL_FILL_S)


def target_at(load: LoadSpec, t: float) -> tuple[int, float] | None:
    """(users, spawn_rate) the Locust runner should aim for at elapsed ``t`` seconds.

    Closed model: the running stage's users and spawn rate. Open model:
    ``(max_users, open_pool_spawn_rate)`` throughout. None after the last stage.
    """
    located = _locate(load, t)
    if located is None:
        return None
    index, _start = located
    if load.model == "open":
        return load.max_users or 0, open_pool_spawn_rate(load)
    return load.stages[index].users or 0, spawn_rate_of(load, index)


def _require_open(load: LoadSpec) -> None:
    if load.model != "open":
        raise ValueError("arrival rates exist only for the open model (load.model = 'open')")


def _stage_rate(load: LoadSpec, index: int, start: float, t: float) -> float:
    """Arrival rate of stage ``index`` (started at ``start``) at ``t``, inside or at its edges."""
    stage: Stage = load.stages[index]
    rate = stage.arrival_rate or 0.0
    if not stage.ramp:
        return rate
    previous = (load.stages[index - 1].arrival_rate or 0.0) if index > 0 else 0.0
    fraction = min(1.0, max(0.0, (t - start) / stage.duration_s))
    return previous + (rate - previous) * fraction


def arrival_rate_at(load: LoadSpec, t: float) -> float:
    """Open model: arrivals per second at elapsed ``t`` (0 after the last stage).

    A ``ramp`` stage goes linearly from the previous stage's rate (0 for the
    first stage) to its own. Raises ValueError for the closed model.
    """
    _require_open(load)
    located = _locate(load, t)
    if located is None:
        return 0.0
    index, start = located
    return _stage_rate(load, index, start, max(0.0, t))


def expected_arrivals(load: LoadSpec, t0: float, t1: float) -> float:
    """Open model: the expected number of arrivals between ``t0`` and ``t1`` (the rate's integral).

    Times outside the stages contribute nothing. Raises ValueError for the
    closed model or when ``t1 < t0``.
    """
    _require_open(load)
    if t1 < t0:
        raise ValueError(f"t1 must not be before t0, got t0={t0}, t1={t1}")
    total = 0.0
    start = 0.0
    for index, stage in enumerate(load.stages):
        end = start + stage.duration_s
        lo, hi = max(t0, start), min(t1, end)
        if hi > lo:
            # the rate is linear inside a stage: the trapezoid is exact
            rate_lo = _stage_rate(load, index, start, lo)
            rate_hi = _stage_rate(load, index, start, hi)
            total += (rate_lo + rate_hi) / 2 * (hi - lo)
        start = end
    return total


def make_shape_class(load: LoadSpec, *, time_source: Callable[[], float] | None = None) -> type:
    """A ``locust.LoadTestShape`` subclass whose ``tick()`` is ``target_at(load, run time)``.

    ``time_source`` (a callable returning elapsed seconds) replaces the shape's
    own ``get_run_time()``, e.g. to follow a clock shared with the recorder.
    """
    from locust import LoadTestShape

    class ScenarioShape(LoadTestShape):
        """Follows the scenario's stages; returns None (stop) after the last one."""

        load_spec = load

        def tick(self) -> tuple[int, float] | None:
            elapsed = time_source() if time_source is not None else self.get_run_time()
            return target_at(load, elapsed)

    return ScenarioShape
