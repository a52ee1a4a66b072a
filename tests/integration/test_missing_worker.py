"""A worker the master gave up on stops its own users: a real Locust master and worker
(in this process, on 127.0.0.1), the message bench sends, Locust's own stop handling.

Locust's master marks a worker "missing" after missed heartbeats and hands its users to
others without telling it (locust#1158). Here the master's table is set to "missing"
directly (as Locust's heartbeat loop does), so the test does not depend on timing.
"""

from __future__ import annotations

import time

import gevent
import locust
from locust import User, constant, task
from locust.env import Environment
from locust.runners import STATE_MISSING

from dhakacart_bench.measure.engines.heartbeat import stop_when_given_up, tell_missing


class Idle(User):
    wait_time = constant(0.5)

    @task
    def nothing(self) -> None:
        pass


def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        gevent.sleep(0.05)


def test_a_worker_given_up_on_stops_its_users_and_is_not_counted_twice() -> None:
    master_env = Environment(user_classes=[Idle], events=locust.events, stop_timeout=0)
    master = master_env.create_master_runner("127.0.0.1", 0)  # the kernel picks the port
    port = master.server.port
    workers = [
        Environment(user_classes=[Idle]).create_worker_runner("127.0.0.1", port) for _ in range(2)
    ]
    slow, other = workers
    stops: list[int] = []
    stop_when_given_up(slow, before_stop=lambda: stops.append(slow.user_count))
    totals: list[int] = []
    slow_counts: list[int] = []

    def watch() -> None:
        while True:
            slow_counts.append(slow.user_count)
            totals.append(slow.user_count + other.user_count)
            gevent.sleep(0.01)

    watcher = None
    try:
        _wait(lambda: len(master.clients.ready) == 2)
        master.start(4, spawn_rate=100)
        _wait(lambda: slow.user_count == 2 and other.user_count == 2)
        watcher = gevent.spawn(watch)
        # what Locust's heartbeat loop does after missed beats: "missing", counts emptied
        client = master.clients[slow.client_id]
        client.state = STATE_MISSING
        client.user_classes_count = {}
        tell_missing(master, slow.client_id, users=2)
        _wait(lambda: stops == [2])  # the worker heard it while still running its 2 users
        _wait(lambda: 0 in slow_counts)  # ... and stopped them at once
        # the master hands its share to the other worker (Locust's dispatch) ...
        _wait(lambda: other.user_count == 4)
        # ... and Locust's own stop handling (client_stopped, client_ready) brings the
        # stopped worker back into the master's table, ready for the next dispatch
        _wait(lambda: slow.client_id in {c.id for c in master.clients.ready})
        gevent.sleep(0.5)
        assert slow.user_count + other.user_count == 4
        assert max(totals) <= 4  # never more users than planned, at any moment
    finally:
        if watcher is not None:
            watcher.kill()
        master.quit()
        for worker in workers:
            worker.quit()
