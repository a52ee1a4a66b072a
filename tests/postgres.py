"""Which PostgreSQL server the PostgreSQL tests use.

``BENCH_TEST_POSTGRES_URL`` when set; otherwise the default local address
(:data:`DEFAULT_URL`) when a server answers there, so the README's plain test command
runs them wherever PostgreSQL is installed. When neither answers the tests are skipped
with the reason — except under ``CI=true``, where they must run and fail instead.
"""

from __future__ import annotations

import functools
import os

import pytest

ENV = "BENCH_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_S = 3


@functools.cache
def _answers(url: str) -> str | None:
    """None when ``url`` answers ``SELECT 1``, else why not."""
    import psycopg

    try:
        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://", 1),
            connect_timeout=CONNECT_TIMEOUT_S,
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def postgres_server_url() -> str:
    """The server URL, or skip (fail under CI=true) saying why there is none."""
    url = os.environ.get(ENV)
    if url:
        return url
    problem = _answers(DEFAULT_URL)
    if problem is None:
        return DEFAULT_URL
    why = f"{ENV} is not set and no PostgreSQL answers at {DEFAULT_URL} ({problem})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: PostgreSQL tests must run, but {why}")
    pytest.skip(why)
