"""The open model's arrival gate."""

from __future__ import annotations

import random
import time

import gevent
import pytest

from dhakacart_bench.measure.arrivals import ArrivalGate, open_model_class


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_uniform_arrivals_are_evenly_spaced() -> None:
    clock = FakeClock()
    gate = ArrivalGate(lambda t: 10.0, arrival="uniform", clock=clock)
    gate.start_time = clock.now
    next_at = gate.plan_until(clock.now + 0.95, clock.now)
    assert gate.planned == 10  # t = 0.0, 0.1, ..., 0.9
    assert next_at == pytest.approx(clock.now + 1.0)


def test_poisson_arrivals_match_the_rate_on_average() -> None:
    clock = FakeClock()
    gate = ArrivalGate(lambda t: 50.0, arrival="poisson", clock=clock, rng=random.Random(7))
    gate.start_time = clock.now
    gate.plan_until(clock.now + 100.0, clock.now)
    # 5,000 expected; a Poisson count has sd ~71
    assert 5000 - 300 < gate.planned < 5000 + 300


def test_rate_follows_the_stage_plan_and_share() -> None:
    clock = FakeClock()
    gate = ArrivalGate(
        lambda t: 10.0 if t < 1.0 else 40.0, arrival="uniform", share=0.5, clock=clock
    )
    gate.start_time = clock.now
    gate.plan_until(clock.now + 1.999, clock.now)
    # first second at 5/s (half of 10), second second at 20/s (half of 40)
    assert gate.planned == pytest.approx(5 + 20, abs=1)


def test_wait_records_lag_and_drops_stale_arrivals() -> None:
    clock = FakeClock()
    gate = ArrivalGate(lambda t: 1.0, arrival="uniform", clock=clock, max_lag_s=5.0)
    gate.start_time = clock.now
    gate._queue.put(clock.now - 6.0)  # waited too long: dropped
    gate._queue.put(clock.now - 0.2)  # 200 ms late: started, late
    gate._queue.put(clock.now)  # on time
    assert gate.wait() == 0.0
    assert gate.wait() == 0.0
    stats = gate.stats()
    assert (stats.started, stats.dropped, stats.late) == (2, 1, 1)
    assert stats.lag_ms_max == pytest.approx(200.0, rel=0.002)


def test_a_real_gate_feeds_a_pool_of_greenlets() -> None:
    gate = ArrivalGate(lambda t: 200.0, arrival="uniform")
    done: list[int] = []

    def user() -> None:
        while True:
            gate.wait()
            done.append(1)

    pool = [gevent.spawn(user) for _ in range(5)]
    gate.start()
    deadline = time.monotonic() + 20  # bounded; a busy machine only makes it slower
    while len(done) < 50 and time.monotonic() < deadline:
        gevent.sleep(0.01)
    gate.stop()
    gevent.killall(pool)
    # the pool took the gate's arrivals: none dropped, each one started by a user
    stats = gate.stats()
    assert len(done) >= 50
    assert stats.started == len(done)
    assert stats.dropped == 0
    assert stats.planned >= stats.started


def test_open_model_class_waits_for_an_arrival_between_tasks() -> None:
    calls: list[str] = []

    class Base:
        def on_start(self) -> None:
            calls.append("on_start")

    class Gate:
        def wait(self) -> float:
            calls.append("wait")
            return 0.0

    cls = open_model_class(Base, Gate())  # type: ignore[arg-type]
    user = cls()
    user.on_start()
    assert user.wait_time() == 0.0
    assert calls == ["on_start", "wait", "wait"]
    assert cls.__name__ == "Base"
    assert issubclass(cls, Base)


def test_bad_arrival_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="poisson"):
        ArrivalGate(lambda t: 1.0, arrival="bursty")
