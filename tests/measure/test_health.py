"""The generator's self-check and the noisy-neighbour check."""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
import pytest

from dhakacart_bench.measure.health import GeneratorMonitor, HealthThresholds, assess


def test_a_quiet_generator_is_healthy() -> None:
    samples = [(30.0, 2.0)] * 60
    health = assess(samples, processes=1, cpu_count=2)
    assert health.saturated is False
    assert health.reason is None
    assert health.cpu_pct_p50 == 30.0
    assert health.observed_seconds == 57  # the 3 warm-up seconds are not judged


def test_cpu_pinned_for_a_fifth_of_the_run_is_saturated() -> None:
    samples = [(40.0, 3.0)] * 80 + [(99.0, 5.0)] * 20
    health = assess(samples)
    assert health.saturated is True
    assert "CPU at or above 90%" in health.reason
    assert health.saturated_seconds == 20


def test_event_loop_lag_alone_flags_saturation() -> None:
    samples = [(50.0, 5.0)] * 50 + [(60.0, 400.0)] * 10
    health = assess(samples, thresholds=HealthThresholds(warmup_s=0))
    assert health.saturated is True
    assert "event-loop lag" in health.reason
    assert health.lag_ms_max == 400.0


def test_one_bad_second_does_not_void_a_short_run() -> None:
    samples = [(20.0, 2.0)] * 5 + [(20.0, 300.0)] + [(20.0, 2.0)] * 2
    health = assess(samples, thresholds=HealthThresholds(warmup_s=0))
    assert health.saturated_seconds == 1
    assert health.saturated is False


def test_a_short_spike_below_the_fraction_is_tolerated() -> None:
    samples = [(40.0, 3.0)] * 95 + [(100.0, 3.0)] * 5
    assert assess(samples, thresholds=HealthThresholds(warmup_s=0)).saturated is False


def test_monitor_sees_a_blocked_event_loop() -> None:
    monitor = GeneratorMonitor()
    monitor.start()
    gevent.sleep(0.06)
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:  # hog the loop on purpose (time.sleep is patched)
        pass
    gevent.sleep(0.06)
    cpu, lag = monitor.sample()
    monitor.stop()
    assert lag >= 200.0
    assert cpu >= 0.0


def test_a_quiet_host_is_not_busy() -> None:
    from dhakacart_bench.measure.health import assess_host

    host = assess_host([0.05] * 30)
    assert host.busy is False and host.reason is None


def test_a_noisy_neighbour_makes_the_host_busy() -> None:
    from dhakacart_bench.measure.health import assess_host

    host = assess_host([0.1] * 20 + [1.4] * 10)
    assert host.busy is True
    assert host.busy_seconds == 10
    assert "other processes" in host.reason


class _FakeHost:
    """A machine whose CPU counters the test moves: the whole machine's busy seconds,
    our process tree's and the target's (by pid), and the clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.machine = 1_000.0
        self.ours = {1: 5.0, 2: 1.0}  # the runner and the bundled store (its child)
        self.target = {50: 3.0, 51: 0.5}  # a target found by port, and its worker

    def spend(
        self, seconds: float, *, ours: float = 0.0, target: float = 0.0, other: float = 0.0
    ) -> None:
        self.now += seconds
        self.ours[1] += ours
        self.target[51] += target
        self.machine += ours + target + other

    def monitor(self, **kwargs: Any) -> Any:
        from dhakacart_bench.measure.health import HostMonitor

        return HostMonitor(
            clock=lambda: self.now,
            machine_cpu=lambda: self.machine,
            own_tree=lambda: dict(self.ours),
            target_tree=lambda roots: dict(self.target) if 50 in roots else {},
            **kwargs,
        )


def test_host_monitor_counts_a_neighbour_but_not_our_own_work() -> None:
    host = _FakeHost()
    monitor = host.monitor()
    host.spend(1.0, ours=0.9)  # our own busy second is not "foreign"
    assert monitor.sample() == 0.0
    host.spend(2.0, ours=0.4, other=1.4)  # somebody else's 0.7 cores
    assert monitor.sample() == pytest.approx(0.7)
    assert monitor.samples == [0.0, 0.7]
    assert monitor.target_samples == [0.0, 0.0]


def test_host_monitor_counts_the_target_as_the_target() -> None:
    host = _FakeHost()
    monitor = host.monitor(target_pids=(50,))
    host.spend(1.0, ours=0.3, target=1.1, other=0.2)
    assert monitor.sample() == pytest.approx(0.2)
    assert monitor.target_samples == [1.1]
    # a target process in our own tree (the bundled store) is counted once, as target
    host.ours[51] = host.target[51]
    host.spend(1.0, target=0.8)
    host.ours[51] = host.target[51]
    assert monitor.sample() == pytest.approx(0.0)
    assert monitor.target_samples == [1.1, 0.8]


def test_host_monitor_finds_a_replaced_target_again() -> None:
    from dhakacart_bench.measure.targetproc import REDISCOVER_EVERY

    host = _FakeHost()
    found = [(99,)]
    monitor = host.monitor(discover=lambda: found[0])
    found[0] = (50,)  # a deploy replaced the listener
    for _ in range(REDISCOVER_EVERY):
        host.spend(1.0, other=0.1)
        monitor.sample()
    assert 50 in monitor.target_pids_seen and 99 in monitor.target_pids_seen


def test_host_monitor_reads_the_real_machine() -> None:
    from dhakacart_bench.measure.health import HostMonitor

    monitor = HostMonitor(target_pids=(os.getpid(),))
    time.sleep(0.05)
    foreign = monitor.sample()
    assert foreign >= 0.0 and monitor.target_samples[0] >= 0.0


def test_host_monitor_looks_for_new_processes_only_every_few_seconds() -> None:
    """Finding our children reads every process of the machine: once per rescan, not per
    sample; the processes already known are still read every sample."""
    from dhakacart_bench.measure.health import HostMonitor

    now = [0.0]
    monitor = HostMonitor(rescan_s=5.0, clock=lambda: now[0])
    assert monitor.scans == 1  # at start
    for second in range(1, 22):
        now[0] = float(second)
        monitor.sample()
    # every second while the store and workers boot (0-9 s), then every 5 s: 14, 19 s
    assert monitor.scans == 10 + 2
    assert len(monitor.samples) == 21
