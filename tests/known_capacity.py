"""A target whose capacity is known exactly: gunicorn gthread, ``T`` threads in one
worker, each request holding its thread for ``S`` ms (a sleep, no CPU). It completes at
most ``T / S`` requests per second; past that, requests queue and latency grows without
bound. The capacity search must find it (tests/integration/test_capacity_search.py,
benchmarks/capacity_known.py).

:func:`serve_known_capacity` starts it on 127.0.0.1 on a free port, waits for it with a
deadline and stops exactly the process group it started. :func:`write_scenario` writes a
scenario of one user class reading ``/work`` (uniform arrivals, so below capacity no
request queues) with a p95 SLO of ``slo_ms``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from dhakacart_bench.target.commands import fd_binds, listening_sockets

HOLD_ENV = "KNOWN_CAPACITY_HOLD_MS"


def app(environ: dict, start_response):  # type: ignore[no-untyped-def]
    """WSGI: ``/work`` holds the thread ``KNOWN_CAPACITY_HOLD_MS`` ms; anything else is instant."""
    if environ.get("PATH_INFO") == "/work":
        time.sleep(float(os.environ.get(HOLD_ENV, "10")) / 1000.0)
    body = b'{"ok": true}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response("200 OK", headers)
    return [body]


@contextmanager
def serve_known_capacity(threads: int, hold_ms: float, *, timeout_s: float = 20.0) -> Iterator[str]:
    """Serve :func:`app` with gunicorn gthread (1 worker x ``threads``); yield its URL."""
    sockets = listening_sockets(("127.0.0.1",))  # held: no race for the port
    port = sockets[0].getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, HOLD_ENV: str(hold_ms), "PYTHONPATH": str(root)}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "tests.known_capacity:app",
        "--bind",
        fd_binds(sockets),
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--backlog",
        "2048",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    try:
        proc = subprocess.Popen(
            command, env=env, cwd=root, start_new_session=True, pass_fds=[sockets[0].fileno()]
        )
    finally:
        sockets[0].close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the known-capacity target did not start on {url}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def write_scenario(folder: Path, *, slo_ms: float, name: str = "known-capacity") -> Path:
    """A scenario of one open-model reader of ``/work`` with ``p95 < slo_ms``."""
    (folder / "known_reader.py").write_text(
        "from locust import constant, task\n"
        "from locust.contrib.fasthttp import FastHttpUser\n\n"
        "class Worker(FastHttpUser):\n"
        "    wait_time = constant(0)\n\n"
        "    @task\n"
        "    def work(self):\n"
        "        self.client.get('/work', name='/work')\n"
    )
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ndescription = "T threads holding S ms each: capacity T/S"\n'
        'locustfile = "known_reader.py"\n\n[[users]]\nclass = "Worker"\n\n'
        '[load]\nmodel = "open"\nmax_users = 10\narrival = "uniform"\n\n'
        '[[load.stages]]\nduration = "10s"\narrival_rate = 10.0\n\n'
        f'[[slo]]\nmetric = "p95_ms"\nmax = {slo_ms:g}\n\n'
        '[[slo]]\nmetric = "error_rate"\nmax = 0.01\n'
    )
    return path
