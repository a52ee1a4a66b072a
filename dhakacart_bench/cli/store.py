"""``bench store``: serve, seed and verify the bundled reference store.

Without ``--database-url`` (or ``DATABASE_URL``) the store uses the embedded SQLite
file ``./instance/dhakacart.sqlite3`` of the current directory. The work is done by
:mod:`dhakacart_bench.target`; these commands parse and print.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from dhakacart_bench.cli.group import BenchGroup
from dhakacart_bench.cli.options import setting_option
from dhakacart_bench.errors import EXIT_FAILED, StoreError, UsageError
from dhakacart_bench.target.commands import (
    DEFAULT_DEAL_PER_USER_LIMIT,
    DEFAULT_DEAL_STOCK,
    DEFAULT_PRODUCTS,
    DEFAULT_THREADS,
    DEFAULT_USERS,
    DEFAULT_WORKERS,
    gunicorn_command,
    store_env,
)
from dhakacart_bench.target.database import (
    do_seed,
    do_verify,
    has_store_schema,
    redact,
    resolve_url,
)

DEFAULT_BIND = "127.0.0.1:8080"


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
@setting_option("database_url")
@click.option("--products", type=click.IntRange(1), default=DEFAULT_PRODUCTS, show_default=True)
@click.option("--deal-stock", type=click.IntRange(0), default=DEFAULT_DEAL_STOCK, show_default=True)
@click.option(
    "--deal-per-user-limit",
    type=click.IntRange(1),
    default=DEFAULT_DEAL_PER_USER_LIMIT,
    show_default=True,
)
@click.option(
    "--users",
    type=click.IntRange(0),
    default=DEFAULT_USERS,
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
        f"Seeded {redact(url)}: {summary['products']} products, deal of "
        f"{summary['deal_stock']} units opening {summary['deal_starts_at']}, "
        f"{summary['users']} users."
    )


@store.command("verify")
@setting_option("database_url")
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
@click.option("--workers", type=click.IntRange(1), default=DEFAULT_WORKERS, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=DEFAULT_THREADS, show_default=True)
@click.option(
    "--worker-class",
    default="gthread",
    show_default=True,
    type=click.Choice(["gthread", "sync", "gevent"]),
)
@setting_option("database_url")
@click.option(
    "--seed/--no-seed",
    default=None,
    help="Reset and seed the database first. Default: only if it has no schema yet.",
)
@click.option("--products", type=click.IntRange(1), default=DEFAULT_PRODUCTS, show_default=True)
@click.option("--deal-stock", type=click.IntRange(0), default=DEFAULT_DEAL_STOCK, show_default=True)
@click.option(
    "--env",
    "env_name",
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
    env_name: str | None,
) -> None:
    """Serve the store with gunicorn in the foreground (Ctrl-C / SIGTERM stops it)."""
    url = resolve_url(database_url)
    if seed is None:
        seed = not has_store_schema(url)
    if seed:
        do_seed(url, products=products, deal_stock=deal_stock)
        click.echo(f"Seeded {redact(url)} ({products} products, deal stock {deal_stock}).")
    prometheus_dir = Path(tempfile.mkdtemp(prefix="dhakacart-prometheus-"))
    env = store_env(
        bind=bind,
        workers=workers,
        threads=threads,
        database_url=url,
        secret_key=os.environ.get("STORE_SECRET_KEY") or secrets.token_urlsafe(32),
        admin_token=os.environ.get("STORE_ADMIN_TOKEN"),
        env=env_name or os.environ.get("STORE_ENV") or "development",
        prometheus_dir=prometheus_dir,
    )
    env["STORE_WORKER_CLASS"] = worker_class
    try:
        code = _run_foreground(gunicorn_command(), env)
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
