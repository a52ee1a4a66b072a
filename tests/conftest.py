"""Shared fixtures.

Locust monkey-patches gevent when imported; it must come before anything that
imports ssl (httpx, psycopg, urllib3) or gevent warns (an error under
``filterwarnings = error``). So it is the first import of the test session.
"""

from __future__ import annotations

import locust  # noqa: F401  # first: it patches gevent, before anything imports ssl

# isort: split
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import JsonHandler, serve_in_thread
from tests.synthetic import MakeRun, write_synthetic_run

INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/ (real servers, real load on 127.0.0.1)."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that refuses connections for the whole test: bound (port
    0, read back) but not listening, and held, so no other process can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


class _TinyHandler(JsonHandler):
    """A tiny target: any path answers 200 JSON, except ``.../2`` → 500 (HTTP/1.0: see
    tests/servers.py)."""

    def do_GET(self) -> None:
        self.answer(500 if self.path.endswith("/2") else 200, {"id": 1})


@pytest.fixture
def tiny_target() -> Iterator[str]:
    """A tiny HTTP target on 127.0.0.1:<free port>; stopped after the test."""
    with serve_in_thread(_TinyHandler) as url:
        yield url


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """Write synthetic run folders through the real recorder and writer (tests/synthetic.py).

    ``make_run(seconds=30, ...)`` returns the folder, under ``tmp_path`` unless
    ``parent=`` says otherwise.
    """

    def make(*, parent: Path | None = None, **options: Any) -> Path:
        return write_synthetic_run(tmp_path if parent is None else parent, **options)

    return make
