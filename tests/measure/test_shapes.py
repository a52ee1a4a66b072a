"""Load shapes: the pure maths and the Locust LoadTestShape."""

from __future__ import annotations

import pytest

from dhakacart_bench.measure.shapes import (
    OPEN_POOL_FILL_S,
    arrival_rate_at,
    expected_arrivals,
    make_shape_class,
    spawn_rate_of,
    stage_starts,
    target_at,
)
from dhakacart_bench.scenario.model import LoadSpec, Stage


def closed(*stages: Stage) -> LoadSpec:
    peak = max(stage.users or 0 for stage in stages)
    return LoadSpec(model="closed", stages=stages, reference_users=peak, default_users=peak)


def open_(*stages: Stage, max_users: int = 50) -> LoadSpec:
    return LoadSpec(
        model="open",
        stages=stages,
        reference_users=max_users,
        default_users=max_users,
        max_users=max_users,
    )


# ramp 0 -> 100 over 10 s, hold 20 s, spike to 1000 at 500/s for 5 s, ramp down to 0 over 10 s
RAMP_HOLD_SPIKE = closed(
    Stage(10.0, users=100),
    Stage(20.0, users=100),
    Stage(5.0, users=1000, spawn_rate=500.0),
    Stage(10.0, users=0),
)


# ramp 0 -> 100/s over 10 s, hold 10 s, ramp down to 0 over 10 s, then a 20/s step for 10 s
OPEN_RAMPS = open_(
    Stage(10.0, arrival_rate=100.0, ramp=True),
    Stage(10.0, arrival_rate=100.0),
    Stage(10.0, arrival_rate=0.0, ramp=True),
    Stage(10.0, arrival_rate=20.0),
)


def test_stage_starts() -> None:
    assert stage_starts(RAMP_HOLD_SPIKE) == [0.0, 10.0, 30.0, 35.0]
    assert RAMP_HOLD_SPIKE.duration_s == 45.0


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (-1.0, (100, 10.0)),  # before the start: the first stage
        (0.0, (100, 10.0)),  # ramp from 0: 100 users over 10 s
        (9.99, (100, 10.0)),
        (10.0, (100, 1.0)),  # hold: no change, minimum spawn rate
        (29.9, (100, 1.0)),
        (30.0, (1000, 500.0)),  # spike: explicit spawn rate
        (35.0, (0, 100.0)),  # ramp down: 1000 users over 10 s
        (44.99, (0, 100.0)),
        (45.0, None),  # over
        (1e9, None),
    ],
)
def test_target_at_ramp_hold_spike(t: float, expected: tuple[int, float] | None) -> None:
    assert target_at(RAMP_HOLD_SPIKE, t) == expected


def test_target_at_step_ladder() -> None:
    ladder = closed(*(Stage(30.0, users=50 * (i + 1), spawn_rate=25.0) for i in range(10)))
    assert [target_at(ladder, 30.0 * i + 1) for i in range(10)] == [
        (50 * (i + 1), 25.0) for i in range(10)
    ]
    assert target_at(ladder, 300.0) is None


def test_default_spawn_rate_is_at_least_one() -> None:
    slow = closed(Stage(100.0, users=5), Stage(100.0, users=7))
    assert spawn_rate_of(slow, 0) == 1.0
    assert spawn_rate_of(slow, 1) == 1.0
    assert spawn_rate_of(RAMP_HOLD_SPIKE, 3) == 100.0


def test_target_at_open_keeps_the_pool() -> None:
    assert target_at(OPEN_RAMPS, 0.0) == (50, 50 / OPEN_POOL_FILL_S)
    assert target_at(OPEN_RAMPS, 39.0) == (50, 50 / OPEN_POOL_FILL_S)
    assert target_at(OPEN_RAMPS, 40.0) is None
    assert target_at(open_(Stage(1.0, arrival_rate=1.0), max_users=1), 0.5) == (1, 1.0)


@pytest.mark.parametrize(
    ("t", "rate"),
    [
        (0.0, 0.0),  # ramp from 0
        (2.5, 25.0),
        (5.0, 50.0),
        (10.0, 100.0),  # hold
        (15.0, 100.0),
        (20.0, 100.0),  # ramp down starts at the previous rate
        (25.0, 50.0),
        (29.0, 10.0),
        (30.0, 20.0),  # step (no ramp)
        (39.9, 20.0),
        (40.0, 0.0),  # over
        (-5.0, 0.0),
    ],
)
def test_arrival_rate_at(t: float, rate: float) -> None:
    assert arrival_rate_at(OPEN_RAMPS, t) == pytest.approx(rate)


def test_first_ramp_stage_and_ramp_between_rates() -> None:
    load = open_(Stage(10.0, arrival_rate=10.0), Stage(10.0, arrival_rate=30.0, ramp=True))
    assert arrival_rate_at(load, 5.0) == 10.0
    assert arrival_rate_at(load, 15.0) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("t0", "t1", "arrivals"),
    [
        (0.0, 10.0, 500.0),  # triangle: 100/s * 10 s / 2
        (0.0, 5.0, 125.0),
        (10.0, 20.0, 1000.0),
        (5.0, 25.0, 375.0 + 1000.0 + 375.0),
        (0.0, 40.0, 500.0 + 1000.0 + 500.0 + 200.0),
        (-10.0, 1000.0, 2200.0),  # outside the stages: nothing
        (40.0, 50.0, 0.0),
        (7.0, 7.0, 0.0),
    ],
)
def test_expected_arrivals(t0: float, t1: float, arrivals: float) -> None:
    assert expected_arrivals(OPEN_RAMPS, t0, t1) == pytest.approx(arrivals)


def test_expected_arrivals_matches_a_riemann_sum() -> None:
    step = 0.001
    total = sum(arrival_rate_at(OPEN_RAMPS, (i + 0.5) * step) * step for i in range(40_000))
    assert expected_arrivals(OPEN_RAMPS, 0.0, 40.0) == pytest.approx(total, rel=1e-6)


def test_arrival_maths_rejects_closed_model_and_reversed_times() -> None:
    with pytest.raises(ValueError, match="open model"):
        arrival_rate_at(RAMP_HOLD_SPIKE, 1.0)
    with pytest.raises(ValueError, match="open model"):
        expected_arrivals(RAMP_HOLD_SPIKE, 0.0, 1.0)
    with pytest.raises(ValueError, match="t1"):
        expected_arrivals(OPEN_RAMPS, 5.0, 1.0)


def test_make_shape_class_ticks_with_patched_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from locust import LoadTestShape

    shape_class = make_shape_class(RAMP_HOLD_SPIKE)
    assert issubclass(shape_class, LoadTestShape)
    assert not shape_class.abstract
    shape = shape_class()
    now = {"t": 0.0}
    monkeypatch.setattr(shape, "get_run_time", lambda: now["t"])
    seen = []
    for t in (0.0, 12.0, 31.0, 40.0, 45.0, 60.0):
        now["t"] = t
        seen.append(shape.tick())
    assert seen == [(100, 10.0), (100, 1.0), (1000, 500.0), (0, 100.0), None, None]


def test_make_shape_class_with_time_source() -> None:
    clock = {"t": 25.0}
    shape = make_shape_class(OPEN_RAMPS, time_source=lambda: clock["t"])()
    assert shape.tick() == (50, 50 / OPEN_POOL_FILL_S)
    clock["t"] = 40.0
    assert shape.tick() is None
