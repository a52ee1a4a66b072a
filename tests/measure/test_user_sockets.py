"""A user stopped mid-request closes the socket it held (no ``ResourceWarning:
unclosed <socket>`` later, at some other code's garbage collection)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import gevent
from locust.env import Environment

from dhakacart_bench.measure.engines.locustfile import load_user_classes, open_sockets
from dhakacart_bench.scenario.parse import load_scenario_file
from tests.servers import JsonHandler, serve_in_thread

LOCUSTFILE = """
from locust import task
from locust.contrib.fasthttp import FastHttpUser


class Slow(FastHttpUser):
    @task
    def read(self):
        self.client.get("/slow")
"""


class _SlowHandler(JsonHandler):
    def do_GET(self) -> None:
        time.sleep(3.0)  # bounded: longer than the test waits for the request to start
        # the client is gone by now (that is the test): answering it fails quietly, not
        # with a traceback printed into whatever test runs next
        with contextlib.suppress(OSError):
            self.answer(200, {"ok": True})
            self.wfile.flush()
        self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()


def test_a_user_stopped_mid_request_closes_its_socket(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(LOCUSTFILE)
    (tmp_path / "s.toml").write_text(
        'name = "slow"\ndescription = "x"\nlocustfile = "slow.py"\n[[users]]\nclass = "Slow"\n'
        '[load]\nmodel = "closed"\n[[load.stages]]\nduration = "2s"\nusers = 1\n'
    )
    (cls,) = load_user_classes(load_scenario_file(tmp_path / "s.toml"))
    with serve_in_thread(_SlowHandler) as url:
        cls.host = url
        user = cls(Environment(user_classes=[cls], host=url))
        request = gevent.spawn(user.client.get, "/slow")
        deadline = time.monotonic() + 10
        while not open_sockets(user) and time.monotonic() < deadline:
            gevent.sleep(0.01)
        (sock,) = open_sockets(user)  # connected, waiting for the answer
        request.kill(block=True)  # what stopping a user mid-request does
        user.on_stop()
        assert sock.fileno() == -1  # closed, not left for the garbage collector
        assert open_sockets(user) == []
