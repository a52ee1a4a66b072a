"""Arm assignment (balanced, random, sticky) and routing of request events per arm."""

from __future__ import annotations

from collections import Counter

import pytest
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from dhakacart_bench.errors import UsageError
from dhakacart_bench.measure.arms import (
    ARM_KEY,
    ArmAssigner,
    ArmRecorders,
    close_connections,
    reconnecting,
    with_arms,
)
from dhakacart_bench.measure.recorder import Recorder
from tests.servers import JsonHandler, serve_in_thread

URLS = {"candidate": "http://127.0.0.1:1", "baseline": "http://127.0.0.1:2"}


def test_users_are_balanced_per_class_and_random_in_order() -> None:
    assigner = ArmAssigner(URLS, seed=4)
    browsers = [assigner.assign("Browser") for _ in range(10)]
    buyers = [assigner.assign("Buyer") for _ in range(3)]
    assert Counter(browsers) == {"candidate": 5, "baseline": 5}
    assert abs(buyers.count("candidate") - buyers.count("baseline")) == 1
    orders = {tuple(ArmAssigner(URLS, seed=s).assign("B") for _ in range(2)) for s in range(20)}
    assert len(orders) == 2  # either arm may come first in a pair
    assert assigner.assigned == {"candidate": 7, "baseline": 6} or assigner.assigned == {
        "candidate": 6,
        "baseline": 7,
    }


class FakeUser:
    host = None

    def __init__(self, environment: object = None) -> None:
        self.client_host = self.host  # a real user builds its client from host here

    def context(self) -> dict:
        return {"mine": 1}

    def on_start(self) -> None:
        pass

    def on_stop(self) -> None:
        pass


def test_a_user_keeps_its_arm_host_and_tags_its_requests() -> None:
    assigner = ArmAssigner(URLS, seed=1)
    cls = with_arms(FakeUser, assigner)
    users = [cls() for _ in range(4)]
    for user in users:
        assert user.client_host == URLS[user.bench_arm]
        assert user.context() == {"mine": 1, ARM_KEY: user.bench_arm}
    assert assigner.active == {"candidate": 2, "baseline": 2}
    users[0].on_stop()
    assert sum(assigner.active.values()) == 3


def test_requests_go_to_their_arms_recorder() -> None:
    recorders = {arm: Recorder(run_start=1000.0) for arm in URLS}
    routed = ArmRecorders(recorders, ArmAssigner(URLS))
    event = {"request_type": "GET", "name": "/a", "response_time": 5.0, "start_time": 1000.5}
    for arm, times in (("candidate", 3), ("baseline", 5)):
        for _ in range(times):
            routed.on_request(**event, response_length=10, context={ARM_KEY: arm})
    routed.on_request(**event, response_length=0, context={})  # no arm: not recorded
    counts = {arm: rec.finish(1003.0).total_counts.requests for arm, rec in recorders.items()}
    assert counts == {"candidate": 3, "baseline": 5}
    assert routed.unrouted == 1


class KeepAliveHandler(JsonHandler):
    """HTTP/1.1: a client may send many requests over one connection; each answer says
    which client port (which connection) it came over."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.answer(200, {"port": self.client_address[1]})


def ports_seen(session: object, requests: int) -> list[int]:
    return [session.get("/").json()["port"] for _ in range(requests)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["fast", "requests"])
def test_a_reconnecting_client_opens_a_new_connection_every_n_requests(kind: str) -> None:
    with serve_in_thread(KeepAliveHandler) as url:
        env = Environment()
        make = {
            "fast": lambda: FastHttpSession(url, env.events.request, user=None),
            "requests": lambda: HttpSession(url, env.events.request, user=None),
        }[kind]
        kept = make()
        try:
            assert len(set(ports_seen(kept, 6))) == 1  # keep-alive: one connection
        finally:
            close_connections(kept)
        churned = make()
        reconnecting(churned, 3)
        try:
            ports = ports_seen(churned, 9)
        finally:
            close_connections(churned)
    # requests 1-3 over one connection, 4-6 over the next, 7-9 over a third
    assert len(set(ports)) == 3
    assert [len(set(ports[i : i + 3])) for i in (0, 3, 6)] == [1, 1, 1]


class ClientUser(FakeUser):
    def __init__(self, environment: object = None) -> None:
        super().__init__(environment)
        self.client = CountingClient()


class CountingClient:
    def __init__(self) -> None:
        self.sent = 0
        self.closed = 0

    def request(self, method: str, path: str) -> str:
        self.sent += 1
        return f"{method} {path}"

    def close(self) -> None:
        self.closed += 1


def test_users_of_an_arm_reconnect_only_when_asked() -> None:
    churning = with_arms(ClientUser, ArmAssigner(URLS, seed=2), reconnect_every=4)()
    answers = [churning.client.request("GET", f"/{i}") for i in range(10)]
    assert answers[3] == "GET /3"  # the request itself is untouched
    assert (churning.client.sent, churning.client.closed) == (10, 2)  # after the 4th, the 8th
    keeping = with_arms(ClientUser, ArmAssigner(URLS, seed=2))()
    for i in range(10):
        keeping.client.request("GET", f"/{i}")
    assert keeping.client.closed == 0


def test_users_sharing_one_pool_are_not_reconnected() -> None:
    class Pooled(ClientUser):
        client_pool = object()  # FastHttpUser's pool shared by every user of the class

    with pytest.raises(UsageError, match="shares one connection pool"):
        with_arms(Pooled, ArmAssigner(URLS), reconnect_every=5)
    with_arms(Pooled, ArmAssigner(URLS))  # keep-alive as before: fine
