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
    gate.lane().queue.put(clock.now - 6.0)  # waited too long: dropped
    gate.lane().queue.put(clock.now - 0.2)  # 200 ms late: started, late
    gate.lane().queue.put(clock.now)  # on time
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
        def wait(self, lane: str | None = None) -> float:
            calls.append("wait" if lane is None else f"wait {lane}")
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


def test_lanes_split_the_arrivals_in_shuffled_pairs() -> None:
    """An A/B run's two arms are offered the same arrivals: of every two, one each."""
    clock = FakeClock()
    gate = ArrivalGate(
        lambda t: 100.0, arrival="uniform", lanes=("candidate", "baseline"), clock=clock,
        rng=random.Random(3),
    )  # fmt: skip
    gate.start_time = clock.now
    next_at = clock.now
    order = []
    for step in range(1, 201):  # one arrival per step (10 ms apart)
        next_at = gate.plan_until(clock.now + step * 0.01 - 0.005, next_at)
        planned = {name: gate.lane(name).planned for name in ("candidate", "baseline")}
        order.append(max(planned, key=lambda n: planned[n]) if step % 2 else None)
        assert abs(planned["candidate"] - planned["baseline"]) <= 1
        if step % 2 == 0:
            assert planned["candidate"] == planned["baseline"] == step // 2
    firsts = [name for name in order if name is not None]
    assert 30 < firsts.count("candidate") < 70  # which arm comes first in a pair is random
    assert gate.planned == 200


def test_a_lane_is_taken_only_by_its_own_users_and_recorded_apart() -> None:
    clock = FakeClock()
    gate = ArrivalGate(lambda t: 1.0, lanes=("a", "b"), clock=clock, max_lag_s=5.0)
    gate.lane("a").queue.put(clock.now - 0.2)  # 200 ms late
    gate.lane("b").queue.put(clock.now)
    gate.lane("b").queue.put(clock.now - 6.0)  # waited too long: dropped when taken
    gate.lane("b").queue.put(clock.now)
    assert gate.wait("a") == 0.0  # a's user takes a's arrival, not b's
    assert gate.lane("a").queue.qsize() == 0 and gate.lane("b").queue.qsize() == 3
    gate.wait("b")
    gate.wait("b")
    a, b, both = gate.stats("a"), gate.stats("b"), gate.stats()
    assert (a.started, a.late, a.dropped) == (1, 1, 0)
    assert a.lag_ms_max == pytest.approx(200.0, rel=0.002)
    assert (b.started, b.late, b.dropped) == (2, 0, 1)
    assert b.lag_ms_max < 1.0
    assert (both.started, both.late, both.dropped) == (3, 1, 1)
    assert both.lag_ms_max == pytest.approx(200.0, rel=0.002)  # the lag histograms merged
    assert gate.backlog() == 0 and gate.drain() == 0


def test_open_model_class_waits_on_its_users_lane() -> None:
    calls: list[str] = []

    class Base:
        arm = "baseline"

        def on_start(self) -> None:
            calls.append("on_start")

    class Gate:
        def wait(self, lane: str | None = None) -> float:
            calls.append(f"wait {lane}")
            return 0.0

    cls = open_model_class(Base, Gate(), lambda user: user.arm)  # type: ignore[arg-type]
    user = cls()
    user.on_start()
    user.wait_time()
    assert calls == ["on_start", "wait baseline", "wait baseline"]
