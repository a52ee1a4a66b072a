"""Fixtures for the reference store: a temporary, freshly seeded database per test.

Every store test runs against SQLite, and against PostgreSQL (one scratch database
per session, dropped afterwards) at ``BENCH_TEST_POSTGRES_URL``, or at the default
local address when a server answers there (tests/postgres.py). With neither the
PostgreSQL cases are skipped with the reason, except in CI (``CI=true``), where they
must run and fail loudly instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from target_app import create_app, db
from target_app.config import CHEAP_PASSWORD_HASH
from target_app.seed import USER_PASSWORD, SeedOptions, seed_database, user_email
from tests.postgres import postgres_server_url

ADMIN_TOKEN = "test-admin-token"
TEST_PRODUCTS = 24
TEST_USERS = 3


def _admin_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_scratch_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server: (its URL, a function that drops it)."""
    import psycopg
    from sqlalchemy import make_url

    name = f"dhakacart_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(db.normalize_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    server = postgres_server_url()
    assert server is not None
    url, drop = create_scratch_database(server)
    yield url
    drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "STORE_ENV": "bench",
        "PASSWORD_HASH": CHEAP_PASSWORD_HASH,
        "FAULTS_CACHE_S": 0,
        "FAULTS": None,
        "RATE_LIMIT_LOGIN": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    application = create_app(app_config)
    engine = db.get_engine(application)
    seed_database(
        engine,
        SeedOptions(products=TEST_PRODUCTS, users=TEST_USERS, deal_stock=5, deal_per_user_limit=2),
    )
    yield application
    application.extensions["dhakacart_db"].dispose()


@pytest.fixture
def engine(app: Any) -> Any:
    return db.get_engine(app)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def login(client: Any) -> Callable[[int], dict[str, str]]:
    """login(i) -> Authorization headers of seeded user shopper{i}."""

    def _login(i: int = 1) -> dict[str, str]:
        resp = client.post(
            "/api/auth/login", json={"email": user_email(i), "password": USER_PASSWORD}
        )
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['token']}"}

    return _login


@pytest.fixture
def admin() -> dict[str, str]:
    return {"X-Admin-Token": ADMIN_TOKEN}


@pytest.fixture
def snapshot(engine: Any) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """snapshot() -> every row of every table: to assert a refused request changed nothing."""
    import sqlalchemy as sa

    def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            return {
                t.name: sorted(tuple(map(str, r)) for r in conn.execute(sa.select(t)))
                for t in db.metadata.sorted_tables
            }

    return _snapshot
