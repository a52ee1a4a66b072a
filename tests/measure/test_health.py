"""The generator's self-check and the noisy-neighbour check."""

from __future__ import annotations

import time
from pathlib import Path

import gevent

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


def test_host_monitor_counts_a_neighbour_but_not_our_own_work(tmp_path: Path) -> None:
    import subprocess
    import sys

    from dhakacart_bench.measure.health import HostMonitor

    monitor = HostMonitor()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:  # our own busy loop is not "foreign"
        pass
    assert monitor.sample() < 0.5
    # a neighbour that is not in our process tree: started by a shell that exits at once
    done = tmp_path / "done"
    hog = (
        "import time, pathlib\nend = time.time() + 1.0\n"
        f"while time.time() < end: pass\npathlib.Path({str(done)!r}).touch()"
    )
    subprocess.run(["sh", "-c", f'"{sys.executable}" -c "$0" &', hog], check=True)
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        gevent.sleep(0.05)
    assert done.exists()
    assert monitor.sample() >= 0.5


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
