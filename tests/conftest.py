"""Shared fixtures.

Locust monkey-patches gevent when imported; it must come before anything that
imports ssl (httpx, psycopg, urllib3) or gevent warns (an error under
``filterwarnings = error``). So it is the first import of the test session.
"""

from __future__ import annotations

import locust  # noqa: F401  # first: it patches gevent, before anything imports ssl

# isort: split
import socket

import pytest


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
