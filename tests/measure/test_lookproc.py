"""The A/B gate's looks in a child process: state kept there, only new windows sent,
failures named — and the event loop keeps running while a look is computed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import gevent
import pytest

from dhakacart_bench.measure.lookproc import LookerProcess, LookFailed
from tests.measure.lookers import Counting, Dying, Failing


@dataclass(frozen=True)
class Window:
    epoch_second: int


def windows(*seconds: int) -> list[Window]:
    return [Window(s) for s in seconds]


def test_looks_run_in_a_child_that_keeps_its_state_and_gets_only_new_windows() -> None:
    with LookerProcess(Counting()) as looker:
        first = looker(15.0, 2, windows(100, 101, 102), windows(100, 101))
        # the whole lists again, as run_ab passes them: only the newer seconds travel
        second = looker(20.0, 4, windows(100, 101, 102, 103, 104), windows(100, 101, 102, 103))
        third = looker(25.0, 4, windows(100, 101, 102, 103, 104), windows(100, 101, 102, 103))
    assert first.startswith("15 2 [100, 101, 102] [100, 101] pid ")
    assert second.startswith("20 4 [100, 101, 102, 103, 104] [100, 101, 102, 103] pid ")
    assert third.startswith("25 4 [100, 101, 102, 103, 104] [100, 101, 102, 103] pid ")
    assert int(first.rsplit(" ", 1)[1]) != os.getpid()  # not this process


def test_the_event_loop_runs_while_the_child_computes() -> None:
    ticks: list[int] = []

    def ticker() -> None:
        for n in range(1000):
            ticks.append(n)
            gevent.sleep(0.001)

    with LookerProcess(Counting()) as looker:
        greenlet = gevent.spawn(ticker)
        looker(15.0, 0, windows(1), windows(1))  # the child's start-up: imports, unpickling
        greenlet.kill()
    assert len(ticks) > 5  # other greenlets ran during the wait


def test_a_looker_that_raises_is_named() -> None:
    with LookerProcess(Failing()) as looker, pytest.raises(LookFailed, match="no data like this"):
        looker(15.0, 0, windows(1), windows(1))


def test_a_child_that_dies_is_a_look_failed_not_a_hang() -> None:
    with LookerProcess(Dying()) as looker, pytest.raises(LookFailed, match="no answer"):
        looker(15.0, 0, windows(1), windows(1))


def test_a_looker_process_must_be_entered() -> None:
    with pytest.raises(LookFailed, match="not running"):
        LookerProcess(Counting())(15.0, 0, [], [])
