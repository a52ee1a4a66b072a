"""Shared fixtures.

Locust monkey-patches gevent when imported; it must come before anything that
imports ssl (httpx, psycopg, urllib3) or gevent warns (an error under
``filterwarnings = error``). So it is the first import of the test session.
"""

from __future__ import annotations

import locust  # noqa: F401  # first: it patches gevent, before anything imports ssl

# isort: split
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.synthetic import MakeRun, write_synthetic_run

INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/ (real servers, real load on 127.0.0.1)."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _TinyHandler(BaseHTTPRequestHandler):
    """A tiny target: any path answers 200 JSON, except ``.../2`` → 500.

    HTTP/1.0 (one request per connection) on purpose: when a run ends, Locust kills
    users mid-request, and geventhttpclient drops the socket a killed greenlet had
    checked out of its keep-alive pool without closing it; in-process runs would
    then raise ResourceWarnings at garbage collection (third-party; see the note in
    tests/test_reliability.py).
    """

    def do_GET(self) -> None:
        status = 500 if self.path.endswith("/2") else 200
        body = json.dumps({"id": 1}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tiny_target() -> Iterator[str]:
    """A tiny HTTP target on 127.0.0.1:<free port>; stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TinyHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """Write synthetic run folders through the real recorder and writer (tests/synthetic.py).

    ``make_run(seconds=30, ...)`` returns the folder, under ``tmp_path`` unless
    ``parent=`` says otherwise.
    """

    def make(*, parent: Path | None = None, **options: Any) -> Path:
        return write_synthetic_run(tmp_path if parent is None else parent, **options)

    return make
