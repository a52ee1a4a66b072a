"""The probe sidecar opens a new connection for every check (an uptime probe's view,
and no reuse race with the server's keep-alive timeout)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import gevent

from dhakacart_bench.measure.sidecars.base import SidecarContext
from dhakacart_bench.measure.sidecars.probe import ProbeSidecar
from dhakacart_bench.scenario.lookup import load_scenario
from dhakacart_bench.scenario.model import ProbeSpec
from tests.servers import JsonHandler, serve_in_thread


def test_every_check_opens_its_own_connection(tmp_path: Path) -> None:
    connections: list[int] = []
    lock = threading.Lock()

    class KeepAlive(JsonHandler):
        protocol_version = "HTTP/1.1"  # the server would keep the connection open

        def setup(self) -> None:
            super().setup()
            with lock:
                connections.append(1)

        def do_GET(self) -> None:
            self.answer(200, {"ok": True})

    with serve_in_thread(KeepAlive) as url:
        probe = ProbeSidecar(ProbeSpec(interval_s=0.05, paths=("/healthz",), timeout_s=2.0))
        ctx = SidecarContext(
            scenario=load_scenario("smoke"), host=url, store=None, run_start=time.time(),
            run_dir=tmp_path,
        )  # fmt: skip
        probe.start(ctx)
        deadline = time.monotonic() + 10
        while len(probe.checks) < 4 and time.monotonic() < deadline:
            gevent.sleep(0.05)
        probe.stop()
    assert len(probe.checks) >= 4
    assert all(c.ok for c in probe.checks)
    assert len(connections) == len(probe.checks)
