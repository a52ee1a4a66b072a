"""Process trees read in one pass of the process table, members kept between looks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from dhakacart_bench.measure.health import HostMonitor
from dhakacart_bench.measure.proctree import TreeTimes, descendants

#: Starts a child that sleeps, prints the child's pid, sleeps (at most 20 s).
PARENT = (
    "import subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)'])\n"
    "print(c.pid, flush=True)\n"
    "time.sleep(20)\n"
)


@pytest.fixture
def family() -> Iterator[tuple[subprocess.Popen[str], int]]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = -1
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        yield parent, child
    finally:
        parent.kill()
        parent.wait(timeout=10)
        with contextlib.suppress(psutil.Error):
            psutil.Process(child).kill()  # ours: started by the parent above


def test_one_look_finds_every_tree(family: tuple[subprocess.Popen[str], int]) -> None:
    parent, child = family
    trees = descendants([os.getpid(), parent.pid, 2**22 + 12345])  # the last: no such pid
    assert set(trees) == {os.getpid(), parent.pid}
    assert [p.pid for p in trees[parent.pid]][:1] == [parent.pid]
    assert child in {p.pid for p in trees[parent.pid]}
    # the parent and its child are below us too: our tree holds theirs
    assert {parent.pid, child} <= {p.pid for p in trees[os.getpid()]}
    assert descendants([]) == {}


def test_tree_times_keeps_members_and_says_when_a_root_is_gone(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    parent, child = family
    times = TreeTimes()
    first = times([parent.pid])
    assert set(first) == {parent.pid, child} and not times.lost
    times.fill([parent.pid], {parent.pid: [psutil.Process(parent.pid)]})  # a later look
    assert set(times([parent.pid])) == {parent.pid}  # what the last look found
    parent.kill()
    parent.wait(timeout=10)
    assert times([parent.pid]) == {} and times.lost


def test_a_target_that_exits_is_looked_for_again_at_once_and_only_once(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    parent, _child = family
    now = [0.0]
    looks: list[int] = []
    found = [(parent.pid,)]

    def discover() -> tuple[int, ...]:
        looks.append(1)
        return found[0]

    monitor = HostMonitor(discover=discover, clock=lambda: now[0])
    assert len(looks) == 1
    for _ in range(3):
        now[0] += 1.0
        monitor.sample()
    assert len(looks) == 1  # the next regular look is REDISCOVER_EVERY samples away
    parent.kill()
    parent.wait(timeout=10)
    found[0] = (os.getpid(),)  # "the deploy's new listener"
    now[0] += 1.0
    monitor.sample()  # sees the target gone
    now[0] += 1.0
    monitor.sample()  # looks again
    assert len(looks) == 2 and os.getpid() in monitor.target_pids_seen
    found[0] = ()
    for _ in range(3):
        now[0] += 1.0
        monitor.sample()
    assert len(looks) == 2
