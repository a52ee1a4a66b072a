"""Distributed runs don't run users twice: the heartbeat tolerance is set in Locust's module
constants, and a worker the master gave up on is told, and stops its own users."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import locust.runners
import pytest
from locust.rpc import Message
from locust.runners import STATE_MISSING, STATE_RUNNING

from dhakacart_bench.measure.engines.heartbeat import (
    MSG_MISSING,
    apply_heartbeat,
    heartbeat_liveness,
    stop_when_given_up,
)
from dhakacart_bench.measure.engines.master import MasterCoordinator
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.scenario.lookup import load_scenario
from dhakacart_bench.settings import default


@pytest.fixture(autouse=True)
def restore_liveness() -> Iterator[None]:
    before = locust.runners.HEARTBEAT_LIVENESS
    yield
    locust.runners.HEARTBEAT_LIVENESS = before


def test_the_setting_is_applied_to_locusts_constant() -> None:
    apply_heartbeat(12)
    assert locust.runners.HEARTBEAT_LIVENESS == 12 == heartbeat_liveness()
    apply_heartbeat(None)  # None leaves it as it is
    assert locust.runners.HEARTBEAT_LIVENESS == 12
    with pytest.raises(ValueError):
        apply_heartbeat(0)
    assert default("heartbeat_liveness") > 3  # more tolerant than Locust's 3 missed beats


class FakeMasterRunner:
    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.sent: list[tuple[str, Any, str]] = []
        self.handlers: dict[str, Any] = {}

    def register_message(self, kind: str, handler: Any, concurrent: bool = False) -> None:
        self.handlers[kind] = handler

    def send_message(self, kind: str, data: Any = None, client_id: str = "") -> None:
        self.sent.append((kind, data, client_id))


def _coordinator(runner: FakeMasterRunner) -> MasterCoordinator:
    return MasterCoordinator(
        runner,
        Recorder(run_start=1000.0),
        scenario=load_scenario("smoke"),
        expected=2,
        run_start=1000.0,
        heartbeat_liveness=30,
    )


def _client(cid: str, state: str, users: int) -> SimpleNamespace:
    return SimpleNamespace(id=cid, state=state, user_classes_count={"Browser": users})


def test_master_tells_a_worker_it_gave_up_on_once_per_loss() -> None:
    runner = FakeMasterRunner()
    coordinator = _coordinator(runner)
    try:
        runner.clients = {
            "w1": _client("w1", STATE_RUNNING, 40),
            "w2": _client("w2", STATE_RUNNING, 60),
        }
        coordinator.watch(1001.0)
        assert runner.sent == []
        runner.clients["w2"] = _client("w2", STATE_MISSING, 0)  # Locust empties its counts
        coordinator.watch(1002.0)
        coordinator.watch(1003.0)  # still missing: told once
        assert runner.sent == [(MSG_MISSING, {"users_held": 60}, "w2")]
        runner.clients["w2"] = _client("w2", STATE_RUNNING, 50)  # it came back
        coordinator.watch(1004.0)
        runner.clients["w2"] = _client("w2", STATE_MISSING, 0)  # and was lost again
        coordinator.watch(1005.0)
        assert [s[2] for s in runner.sent] == ["w2", "w2"]
        losses = coordinator.section().lost
        assert [(x.lost_at_s, x.users_held, x.returned_at_s) for x in losses] == [
            (2, 60, 4),
            (5, 50, None),
        ]
    finally:
        coordinator.close()


def test_the_scenario_reply_carries_the_tolerance_and_interim_finals_are_not_finals() -> None:
    runner = FakeMasterRunner()
    coordinator = _coordinator(runner)
    try:
        assert coordinator._scenario_reply["heartbeat_liveness"] == 30
        final = runner.handlers["bench_final"]
        final(None, Message("bench_final", {"windows": [], "interim": True}, "w1"))
        assert coordinator.finals == set()  # it stopped because we gave up; it comes back
        final(None, Message("bench_final", {"windows": []}, "w1"))
        assert coordinator.finals == {"w1"}
    finally:
        coordinator.close()


class FakeWorkerRunner:
    def __init__(self) -> None:
        self.user_count = 25
        self.handled: list[str] = []
        self.handlers: dict[str, tuple[Any, bool]] = {}

    def register_message(self, kind: str, handler: Any, concurrent: bool = False) -> None:
        self.handlers[kind] = (handler, concurrent)

    def handle_message(self, msg: Message) -> None:
        self.handled.append(msg.type)
        self.user_count = 0


def test_a_worker_given_up_on_stops_its_users_through_locusts_stop() -> None:
    runner = FakeWorkerRunner()
    calls: list[str] = []
    stop_when_given_up(runner, before_stop=lambda: calls.append("before"))
    handler, concurrent = runner.handlers[MSG_MISSING]
    assert concurrent  # Locust's stop waits stop_timeout: not in the receiving greenlet
    handler(environment=None, msg=Message(MSG_MISSING, {"users_held": 25}, "master"))
    assert calls == ["before"] and runner.handled == ["stop"] and runner.user_count == 0
