"""The bundled store's settings, and the commands and environment that seed, serve and
verify it (in subprocesses: this module imports only the standard library).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dhakacart_bench.errors import StoreError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 0
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 16
DEFAULT_PRODUCTS = 200
DEFAULT_DEAL_STOCK = 50
DEFAULT_DEAL_PER_USER_LIMIT = 1
DEFAULT_USERS = 0
DEFAULT_ENV = "bench"
DEFAULT_STARTUP_TIMEOUT_S = 30.0
#: Cheap password hashing for bench stores: thousands of logins per second must be possible.
BENCH_PASSWORD_HASH = "pbkdf2:sha256:1000"
SQLITE_FILE = "dhakacart.sqlite3"
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class StoreSettings:
    database_url: str | None = None  # None -> a fresh SQLite file in data_dir
    data_dir: Path | None = None  # SQLite file, log, prometheus dir; None -> a temp dir
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0 -> a free port chosen by the OS
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS
    products: int = DEFAULT_PRODUCTS
    deal_stock: int = DEFAULT_DEAL_STOCK
    deal_per_user_limit: int = DEFAULT_DEAL_PER_USER_LIMIT
    deal_opens_at: datetime | None = None  # absolute UTC; None -> open now
    users: int = DEFAULT_USERS
    faults: dict[str, Any] | None = None
    admin_token: str | None = None  # None -> generated
    env: str = DEFAULT_ENV
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    #: TEST ONLY: a deliberately broken build whose stock updates are a non-atomic
    #: read-then-write (``STORE_UNSAFE_STOCK=1``), to prove the invariant check catches
    #: overselling. The store refuses it when ``env == "production"``.
    unsafe_stock: bool = False
    #: More loopback addresses to listen on, on the same port: one client address
    #: pair has ~28,000 ephemeral ports, so 100,000 connections need several.
    extra_hosts: tuple[str, ...] = ()
    worker_class: str = "gthread"  # "gevent" holds many idle keep-alive connections cheaply
    worker_connections: int = 1000  # per worker process
    #: PYTHONHASHSEED of the store's processes (its workers are forked and share it);
    #: None: inherited (random per process unless the environment sets it). Two stores
    #: compared with each other start with one seed: the seed alone moves a store's
    #: latency by a few per cent for its whole life (docs/gate.md)
    hash_seed: int | None = None


def listening_sockets(hosts: tuple[str, ...], attempts: int = 50) -> list[socket.socket]:
    """Bound, listening TCP sockets on every one of ``hosts``, all on one port the kernel
    chose for the first, inheritable: hand them to gunicorn as ``--bind fd://N`` (with
    ``pass_fds``) and no other process can take the port between choosing and serving.
    The caller closes its copies once the server has them."""
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        try:
            for host in hosts:
                sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, sockets[0].getsockname()[1] if len(sockets) > 1 else 0))
        except OSError:
            for sock in sockets:
                sock.close()
            continue
        for sock in sockets:
            sock.listen(128)  # gunicorn listens again with its own backlog
            sock.set_inheritable(True)
        return sockets
    raise StoreError(f"no port free on all of {', '.join(hosts)}")


def fd_binds(sockets: list[socket.socket]) -> str:
    """gunicorn's bind value (``STORE_BIND`` or ``--bind``) for inherited sockets."""
    return ",".join(f"fd://{sock.fileno()}" for sock in sockets)


def gunicorn_command(python: str | None = None) -> list[str]:
    """The command that serves the store (settings come from the environment)."""
    return [
        python or sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:target_app.gunicorn_conf",
        "target_app.wsgi:app",
    ]


def store_env(
    *,
    bind: str,
    workers: int,
    threads: int,
    database_url: str,
    secret_key: str,
    admin_token: str | None,
    env: str,
    prometheus_dir: Path,
    faults: dict[str, Any] | None = None,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for the gunicorn process (see target_app/gunicorn_conf.py)."""
    out = dict(os.environ if base is None else base)
    out.update(
        {
            "STORE_BIND": bind,
            "STORE_WORKERS": str(workers),
            "STORE_THREADS": str(threads),
            "DATABASE_URL": database_url,
            "STORE_SECRET_KEY": secret_key,
            "STORE_ENV": env,
            "PROMETHEUS_MULTIPROC_DIR": str(prometheus_dir),
        }
    )
    if admin_token:
        out["STORE_ADMIN_TOKEN"] = admin_token
    if faults:
        out["STORE_FAULTS"] = json.dumps(faults)
    if env == "bench":
        out.setdefault("STORE_PASSWORD_HASH", BENCH_PASSWORD_HASH)
    return out


def seed_command(
    database_url: str,
    *,
    products: int,
    deal_stock: int,
    deal_per_user_limit: int,
    users: int,
    deal_opens_at: datetime | None,
    python: str | None = None,
) -> list[str]:
    cmd = [
        python or sys.executable,
        "-m",
        "target_app",
        "seed",
        "--database-url",
        database_url,
        "--products",
        str(products),
        "--deal-stock",
        str(deal_stock),
        "--deal-per-user-limit",
        str(deal_per_user_limit),
        "--users",
        str(users),
    ]
    if deal_opens_at is not None:
        when = deal_opens_at if deal_opens_at.tzinfo else deal_opens_at.replace(tzinfo=UTC)
        cmd += ["--deal-opens-at", when.astimezone(UTC).isoformat()]
    return cmd


def verify_database(database_url: str, *, timeout: float = 120.0) -> dict[str, Any]:
    """The invariant report of a store database, computed in a subprocess."""
    cmd = [sys.executable, "-m", "target_app", "verify", "--json", "--database-url", database_url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise StoreError(f"verifying the store database took longer than {timeout:g} s") from None
    if proc.returncode not in (0, 1):
        raise StoreError(f"could not verify the store database: {tail(proc.stderr)}")
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        raise StoreError(f"verify printed no JSON report: {tail(proc.stdout)}") from None
    return report


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
