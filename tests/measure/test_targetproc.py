"""The target's processes on this machine: found by port, counted as the target's CPU,
not as a noisy neighbour's."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from dhakacart_bench.measure.health import HostMonitor, assess_host
from dhakacart_bench.measure.targetproc import (
    listening_pids,
    target_address,
    watch_arms,
    watch_target,
)

#: A "target": listens on a free port (printed), and burns CPU for at most 20 s.
BUSY_TARGET = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and sys.stdin.readable():
    sum(range(10_000))
"""


@pytest.fixture
def busy_target() -> Iterator[tuple[subprocess.Popen[str], str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", BUSY_TARGET],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield child, f"http://127.0.0.1:{port}"
    finally:
        child.kill()
        child.wait(timeout=10)


def test_a_loopback_host_is_on_this_machine_a_documentation_address_is_not() -> None:
    assert target_address("http://127.0.0.1:8000") == ({"127.0.0.1"}, 8000)
    assert target_address("https://[::1]") == ({"::1"}, 443)
    assert target_address("http://192.0.2.7:80") is None  # TEST-NET-1: never local
    assert target_address("http://no-such-host.invalid") is None


def test_the_process_listening_on_the_port_is_the_target(
    busy_target: tuple[subprocess.Popen[str], str],
) -> None:
    child, url = busy_target
    assert listening_pids(url) == (child.pid,)
    watch, source = watch_target(url, store_pid=None, target_pids=())
    assert source is not None and source.startswith("listening on port ")
    assert watch["discover"]() == (child.pid,)


def test_named_and_bundled_targets() -> None:
    assert watch_target("http://192.0.2.7", store_pid=None, target_pids=()) == (
        {"target_pids": ()},
        None,
    )
    assert watch_target("http://192.0.2.7", store_pid=None, target_pids=(42,)) == (
        {"target_pids": (42,)},
        "--target-pid",
    )
    assert watch_target("http://127.0.0.1:1", store_pid=7, target_pids=()) == (
        {"target_pids": (7,)},
        "bundled store",
    )


def test_an_ab_runs_target_is_both_arms(busy_target: tuple[subprocess.Popen[str], str]) -> None:
    child, url = busy_target
    urls = {"candidate": "http://127.0.0.1:1", "baseline": url}
    watch, source = watch_arms(urls, store_pids={"candidate": 7}, target_pids=(42,))
    assert watch["target_pids"] == (42, 7)  # --target-pid, the bundled candidate store
    assert watch["discover"]() == (child.pid,)  # whoever listens on the baseline's port
    assert source is not None
    assert source.startswith("candidate: bundled store; baseline: listening on port ")
    assert source.endswith("; --target-pid")
    both_bundled, where = watch_arms(
        {"candidate": "http://127.0.0.1:1", "baseline": "http://127.0.0.1:2"},
        store_pids={"candidate": 7, "baseline": 8},
        target_pids=(),
    )
    assert both_bundled == {"target_pids": (7, 8)}
    assert where == "candidate: bundled store; baseline: bundled store"


def test_the_targets_cpu_is_counted_apart_from_the_foreign(
    busy_target: tuple[subprocess.Popen[str], str],
) -> None:
    child, url = busy_target
    proc = psutil.Process(child.pid)
    monitor = HostMonitor(discover=lambda: listening_pids(url))
    before = sum(proc.cpu_times()[:2])
    started = time.monotonic()
    for _ in range(6):  # bounded: 6 samples ~0.2 s apart
        time.sleep(0.2)
        monitor.sample()
    spent = sum(proc.cpu_times()[:2]) - before
    elapsed = time.monotonic() - started
    assert child.pid in monitor.target_pids_seen
    counted = sum(monitor.target_samples) * elapsed / len(monitor.target_samples)
    # every CPU-second the target spent is in target_samples (sampling edges aside)
    assert counted == pytest.approx(spent, rel=0.25, abs=0.05)
    assert spent > 0.05  # the target did run (even on a busy machine it gets some CPU)


def test_assess_host_records_the_targets_cpu() -> None:
    machine = assess_host(
        [0.1] * 10,
        target_samples=[1.1] * 10,
        target_pids=[9, 3],
        target_source="listening on port 8001",
    )
    assert (machine.target_cores_mean, machine.target_cores_max) == (1.1, 1.1)
    assert machine.target_pids == (3, 9)
    assert not machine.busy  # the target's 1.1 cores are not a noisy neighbour's
    assert assess_host([0.0] * 5).target_source is None


def test_the_target_tree_includes_grandchildren() -> None:
    from dhakacart_bench.measure.proctree import descendants

    code = (
        "import subprocess, sys, time\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)'])\n"
        "print(c.pid, flush=True)\n"
        "time.sleep(20)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        tree = {proc.pid for proc in descendants([parent.pid])[parent.pid]}
        assert {parent.pid, grandchild} <= tree
    finally:
        for p in psutil.Process(parent.pid).children(recursive=True):
            p.kill()
        parent.kill()
        parent.wait(timeout=10)
