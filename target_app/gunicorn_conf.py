"""gunicorn settings for the store, from environment variables.

``gthread`` is the default worker class: the store's time is spent in the
database (SQLite locks, PostgreSQL round trips) and in injected latency, so a
few processes with a thread pool each overlap waiting without gevent patching.

| env | default |
|---|---|
| STORE_BIND | 127.0.0.1:8080 |
| STORE_WORKERS | 2 |
| STORE_THREADS | 16 |
| STORE_WORKER_CLASS | gthread |
| STORE_WORKER_CONNECTIONS | 1000 (per worker; gevent/gthread) |
| STORE_KEEPALIVE | 5 (seconds) |
| STORE_BACKLOG | 2048 |
| STORE_TIMEOUT | 30 (seconds) |
| STORE_GRACEFUL_TIMEOUT | 20 (seconds) |
| STORE_ACCESS_LOG | unset (off); "-" for stdout or a path |
| STORE_LOG_LEVEL | info |
| STORE_PRELOAD_LIBS | 1: import the libraries (not the app) in the master |

**Rolling reloads (SIGHUP) and STORE_PRELOAD_LIBS.** On SIGHUP gunicorn forks the
new workers and at once sends SIGTERM to the old ones, which stop accepting; until a
new worker has imported its code, nobody accepts and connections wait in the
backlog. Importing flask, sqlalchemy and friends took ~0.25 s of CPU per worker
(several seconds on a busy machine: probe checks timed out during a deploy). The
master now imports those libraries once, so a forked worker only loads the store's
own code (~0.04 s) and the gap all but disappears. The app itself is still loaded
in each worker (no ``preload_app``), so a SIGHUP still deploys new store code; an
upgrade of the libraries themselves needs a full restart.
"""

from __future__ import annotations

import os
import resource
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("STORE_BIND", "127.0.0.1:8080").split(",")
workers = _int("STORE_WORKERS", 2)
threads = _int("STORE_THREADS", 16)
worker_class = os.environ.get("STORE_WORKER_CLASS", "gthread")
worker_connections = _int("STORE_WORKER_CONNECTIONS", 1000)
keepalive = _int("STORE_KEEPALIVE", 5)
backlog = _int("STORE_BACKLOG", 2048)
timeout = _int("STORE_TIMEOUT", 30)
graceful_timeout = _int("STORE_GRACEFUL_TIMEOUT", 20)
accesslog = os.environ.get("STORE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("STORE_LOG_LEVEL", "info")
proc_name = "dhakacart-store"
if os.environ.get("STORE_PRELOAD_LIBS", "1") not in ("0", "", "false"):
    import flask  # noqa: F401
    import itsdangerous  # noqa: F401
    import prometheus_client  # noqa: F401
    import sqlalchemy  # noqa: F401
    import werkzeug  # noqa: F401

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        import psycopg  # noqa: F401

# Every keep-alive connection is a file descriptor: let the workers (which
# inherit this process's limits) use as many as the hard limit allows.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft != _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the prometheus multiprocess dir."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# gunicorn >= 27 opens a control socket at a fixed per-user path by default;
# several stores on one machine (tests, benchmarks) would fight over it.
control_socket_disable = os.environ.get("STORE_CONTROL_SOCKET") is None
if not control_socket_disable:
    control_socket = os.environ["STORE_CONTROL_SOCKET"]
