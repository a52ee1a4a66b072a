"""``bench store``: serve, seed and verify the bundled reference store.

Without ``--database-url`` (or ``DATABASE_URL``) the store uses the embedded
SQLite file ``./instance/dhakacart.sqlite3`` of the current directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from dhakacart_bench import store as core
from dhakacart_bench.cli import BenchGroup
from dhakacart_bench.errors import EXIT_FAILED, StoreError, UsageError

DEFAULT_BIND = "127.0.0.1:8080"
DB_HELP = (
    "SQLAlchemy URL of the store database (postgresql://... or sqlite:///...). "
    "Default: $DATABASE_URL, else ./instance/dhakacart.sqlite3."
)


def resolve_url(database_url: str | None) -> str:
    url = database_url or os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path.cwd() / 'instance' / core.SQLITE_FILE}"


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn database / URL problems into BenchErrors (no traceback for user mistakes)."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.ArgumentError as exc:  # malformed URL, unknown driver
        raise UsageError(f"invalid database URL {_redact(url)!r}: {exc}") from None
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot use the database {_redact(url)}: {reason}") from None
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"database error on {_redact(url)}: {exc.orig}") from None


def _redact(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _engine(url: str) -> Any:
    from target_app import db

    return db.make_engine(url, pool_size=2, max_overflow=2)


def do_seed(url: str, **options: Any) -> dict[str, Any]:
    from target_app.config import CHEAP_PASSWORD_HASH, STRONG_PASSWORD_HASH
    from target_app.seed import SeedOptions, seed_database

    env = os.environ.get("STORE_ENV", "development")
    method = os.environ.get("STORE_PASSWORD_HASH") or (
        CHEAP_PASSWORD_HASH if env == "bench" else STRONG_PASSWORD_HASH
    )
    with database_errors(url):
        engine = _engine(url)
        try:
            return seed_database(engine, SeedOptions(password_hash_method=method, **options))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        finally:
            engine.dispose()


def do_verify(url: str) -> dict[str, Any]:
    from target_app.db import has_schema
    from target_app.invariants import check_invariants

    with database_errors(url):
        engine = _engine(url)
        try:
            if not has_schema(engine):
                raise StoreError(f"{_redact(url)} has no store schema: run `bench store seed`")
            return check_invariants(engine)
        finally:
            engine.dispose()


@click.group("store", cls=BenchGroup)
def store() -> None:
    """Serve, seed and verify the bundled DhakaCart reference store.

    Without --database-url (or DATABASE_URL) the store uses the embedded SQLite
    file ./instance/dhakacart.sqlite3 of the current directory.
    """


def _parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--deal-opens-at: not an ISO-8601 datetime: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@store.command("seed")
@click.option("--database-url", help=DB_HELP)
@click.option(
    "--products", type=click.IntRange(1), default=core.DEFAULT_PRODUCTS, show_default=True
)
@click.option(
    "--deal-stock", type=click.IntRange(0), default=core.DEFAULT_DEAL_STOCK, show_default=True
)
@click.option(
    "--deal-per-user-limit",
    type=click.IntRange(1),
    default=core.DEFAULT_DEAL_PER_USER_LIMIT,
    show_default=True,
)
@click.option(
    "--users",
    type=click.IntRange(0),
    default=core.DEFAULT_USERS,
    show_default=True,
    help="Test users shopper{i}@dhakacart.test, password shopper-pass.",
)
@click.option("--deal-opens-in", type=float, help="Open the flash sale this many seconds from now.")
@click.option("--deal-opens-at", help="Open the flash sale at this ISO-8601 time (UTC if naive).")
def seed_cmd(
    database_url: str | None,
    products: int,
    deal_stock: int,
    deal_per_user_limit: int,
    users: int,
    deal_opens_in: float | None,
    deal_opens_at: str | None,
) -> None:
    """Reset the database and load the deterministic catalogue, deal and users."""
    if deal_opens_in is not None and deal_opens_at is not None:
        raise UsageError("give --deal-opens-in or --deal-opens-at, not both")
    opens = _parse_when(deal_opens_at)
    if deal_opens_in is not None:
        opens = datetime.now(UTC) + timedelta(seconds=deal_opens_in)
    url = resolve_url(database_url)
    summary = do_seed(
        url,
        products=products,
        deal_stock=deal_stock,
        deal_per_user_limit=deal_per_user_limit,
        users=users,
        deal_opens_at=opens,
    )
    click.echo(
        f"Seeded {_redact(url)}: {summary['products']} products, deal of "
        f"{summary['deal_stock']} units opening {summary['deal_starts_at']}, "
        f"{summary['users']} users."
    )


@store.command("verify")
@click.option("--database-url", help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_cmd(database_url: str | None, as_json: bool) -> None:
    """Check the store's invariants; exit 1 when any is broken."""
    report = do_verify(resolve_url(database_url))
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        stats = ", ".join(f"{k}={v}" for k, v in report["stats"].items())
        if report["ok"]:
            click.echo(f"OK: {len(report['checked'])} invariants hold ({stats})")
        else:
            click.echo(f"BROKEN: {len(report['problems'])} problem(s) ({stats})")
            for problem in report["problems"]:
                click.echo(f"  - {problem}")
    if not report["ok"]:
        sys.exit(EXIT_FAILED)


@store.command("serve")
@click.option("--bind", default=DEFAULT_BIND, show_default=True, help="host:port to listen on.")
@click.option("--workers", type=click.IntRange(1), default=core.DEFAULT_WORKERS, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=core.DEFAULT_THREADS, show_default=True)
@click.option(
    "--worker-class",
    default="gthread",
    show_default=True,
    type=click.Choice(["gthread", "sync", "gevent"]),
)
@click.option("--database-url", help=DB_HELP)
@click.option(
    "--seed/--no-seed",
    default=None,
    help="Reset and seed the database first. Default: only if it has no schema yet.",
)
@click.option(
    "--products", type=click.IntRange(1), default=core.DEFAULT_PRODUCTS, show_default=True
)
@click.option(
    "--deal-stock", type=click.IntRange(0), default=core.DEFAULT_DEAL_STOCK, show_default=True
)
@click.option(
    "--env",
    "store_env",
    default=None,
    type=click.Choice(["production", "development", "bench"]),
    help="STORE_ENV for the store (default: $STORE_ENV, else development).",
)
def serve_cmd(
    bind: str,
    workers: int,
    threads: int,
    worker_class: str,
    database_url: str | None,
    seed: bool | None,
    products: int,
    deal_stock: int,
    store_env: str | None,
) -> None:
    """Serve the store with gunicorn in the foreground (Ctrl-C / SIGTERM stops it)."""
    url = resolve_url(database_url)
    if seed is None:
        from target_app.db import has_schema

        with database_errors(url):
            engine = _engine(url)
            try:
                seed = not has_schema(engine)
            finally:
                engine.dispose()
    if seed:
        do_seed(url, products=products, deal_stock=deal_stock)
        click.echo(f"Seeded {_redact(url)} ({products} products, deal stock {deal_stock}).")
    prometheus_dir = Path(tempfile.mkdtemp(prefix="dhakacart-prometheus-"))
    env = core.store_env(
        bind=bind,
        workers=workers,
        threads=threads,
        database_url=url,
        secret_key=os.environ.get("STORE_SECRET_KEY") or secrets.token_urlsafe(32),
        admin_token=os.environ.get("STORE_ADMIN_TOKEN"),
        env=store_env or os.environ.get("STORE_ENV") or "development",
        prometheus_dir=prometheus_dir,
    )
    env["STORE_WORKER_CLASS"] = worker_class
    try:
        code = _run_foreground(core.gunicorn_command(), env)
    finally:
        shutil.rmtree(prometheus_dir, ignore_errors=True)
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise StoreError(f"gunicorn exited with code {code}")


def _run_foreground(cmd: list[str], env: dict[str, str]) -> int:
    """Run gunicorn, forwarding SIGTERM / SIGINT to it, and wait for its exit."""
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
