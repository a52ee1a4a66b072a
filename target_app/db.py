"""The database: engine per process, schema, transactions and seeding.

SQLAlchemy Core only. SQLite (WAL, ``busy_timeout``, ``BEGIN IMMEDIATE`` for
writes) is the embedded default; PostgreSQL (psycopg 3) when the URL says so.
The engine is created lazily and re-created after a fork, so gunicorn workers
never share a connection pool.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("slug", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
)
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("category", sa.String(40), sa.ForeignKey("categories.slug"), nullable=False),
    sa.Column("price_cents", sa.Integer, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("initial_stock", sa.Integer, nullable=False),
    sa.Index("ix_products_category", "category"),
)
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
cart_items = sa.Table(
    "cart_items",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
)
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("total_cents", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("source", sa.String(10), nullable=False),  # 'cart' | 'deal'
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency"),
    sa.Index("ix_orders_user", "user_id"),
)
order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_cents", sa.Integer, nullable=False),
)
deals = sa.Table(
    "deals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("price_cents", sa.Integer, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("per_user_limit", sa.Integer, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
)
deal_claims = sa.Table(
    "deal_claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("deal_id", sa.Integer, sa.ForeignKey("deals.id"), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_deal_claims_deal_user", "deal_id", "user_id"),
)
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),  # JSON
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def insert_order(
    conn: Any, *, user_id: int, total_cents: int, key: str | None, source: str, now: datetime
) -> int:
    """Insert a placed order (its lines are the caller's); return its id."""
    return int(
        conn.execute(
            sa.insert(orders)
            .values(
                user_id=user_id,
                status="placed",
                total_cents=total_cents,
                idempotency_key=key,
                source=source,
                created_at=now,
            )
            .returning(orders.c.id)
        ).scalar_one()
    )


def as_utc(value: datetime) -> datetime:
    """Datetimes read back from SQLite are naive: they were written in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs (``postgres://`` and ``postgresql://``)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_sqlite_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'dhakacart.sqlite3'}"


def make_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 20, busy_timeout_s: float = 15.0
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit BEGINs."""
    url = normalize_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        )
        _configure_sqlite(engine, busy_timeout_s)
        return engine
    return sa.create_engine(
        parsed, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: two DEFERRED transactions that
        # both read and then write would deadlock (SQLITE_BUSY without waiting).
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class EngineHolder:
    """One engine per process: re-created lazily after a fork."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = normalize_url(url)
        self.options = options
        self._engine: Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> Engine:
        pid = os.getpid()
        if self._engine is None or self._pid != pid:
            with self._lock:
                if self._engine is None or self._pid != pid:
                    if self._engine is not None:
                        self._engine.dispose(close=False)  # inherited pool: drop, don't close
                    self._engine = make_engine(self.url, **self.options)
                    self._pid = pid
        return self._engine

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None and self._pid == os.getpid():
                self._engine.dispose()
            self._engine = None


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"] or default_sqlite_url(app.instance_path)
    url = normalize_url(url)
    sa.make_url(url)  # fail at start-up on a malformed URL
    app.config["DATABASE_URL"] = url
    app.extensions["dhakacart_db"] = EngineHolder(
        url,
        pool_size=app.config["DB_POOL_SIZE"],
        max_overflow=app.config["DB_MAX_OVERFLOW"],
        busy_timeout_s=app.config["SQLITE_BUSY_TIMEOUT_S"],
    )


def get_engine(app: Flask | None = None) -> Engine:
    holder: EngineHolder = (app or current_app).extensions["dhakacart_db"]
    return holder.get()


@contextmanager
def read_conn() -> Iterator[Connection]:
    with get_engine().connect() as conn:
        yield conn


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def _write_lock(engine: Engine) -> threading.Lock:
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        lock = _WRITE_LOCKS.setdefault(engine, threading.Lock())
    return lock


@contextmanager
def write_tx(engine: Engine | None = None) -> Iterator[Connection]:
    """One short write transaction: committed on success, rolled back on error.

    On SQLite, threads of one process queue on a lock before ``BEGIN IMMEDIATE``:
    SQLite admits one writer anyway, and its busy handler waits by sleeping
    (up to 100 ms a try), which made tail latency of a busy gthread worker poor.
    Other processes still wait through ``busy_timeout``.
    """
    eng = engine or get_engine()
    if eng.dialect.name != "sqlite":
        with eng.connect() as conn, conn.begin():
            yield conn
        return
    with _write_lock(eng), eng.connect() as conn:
        conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def reset_schema(engine: Engine) -> None:
    """Drop and re-create every table."""
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)


def has_schema(engine: Engine) -> bool:
    return sa.inspect(engine).has_table("deals")
