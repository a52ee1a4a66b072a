"""The bundled reference store as a managed process (used by the load runner).

``ManagedStore(StoreSettings(...))`` seeds a database and runs the store under gunicorn
in its own process group; everything heavy lives in those subprocesses. This module
imports only the standard library at import time (``urllib.request`` pulls in ``ssl``,
so it is imported inside the functions that poll), because the load runner imports
locust first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dhakacart_bench.errors import StoreError
from dhakacart_bench.target.commands import (
    BENCH_PASSWORD_HASH,
    LOG_TAIL_LINES,
    SQLITE_FILE,
    fd_binds,
    gunicorn_command,
    listening_sockets,
    seed_command,
    store_env,
    tail,
    verify_database,
)

if TYPE_CHECKING:
    from dhakacart_bench.target.commands import StoreSettings


_LISTENING = re.compile(r"Listening at: (http://[^\s,]+)")


class ManagedStore:
    """Seed, serve (gunicorn, own process group), verify and stop the bundled store."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.admin_token = settings.admin_token or secrets.token_urlsafe(24)
        self.url = ""
        self.pid = 0
        self.database_url = ""
        self.log_path = Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._data_dir: Path | None = None
        self._owns_data_dir = False
        # One secret for the store's whole life: a restart keeps shoppers' tokens valid.
        self._secret_key = secrets.token_urlsafe(32)

    def __enter__(self) -> ManagedStore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> ManagedStore:
        if self._proc is not None:
            raise StoreError("the store is already running")
        s = self.settings
        if s.data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="dhakacart-store-"))
            self._owns_data_dir = True
        else:
            self._data_dir = Path(s.data_dir)
            self._data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = s.database_url or f"sqlite:///{self._data_dir / SQLITE_FILE}"
        self.log_path = self._data_dir / "store.log"
        try:
            self._seed()
            self._spawn()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _env(self, port: int | None, sockets: list[socket.socket]) -> dict[str, str]:
        prometheus_dir = self._data_dir / "prometheus"  # type: ignore[operator]
        shutil.rmtree(prometheus_dir, ignore_errors=True)
        prometheus_dir.mkdir(parents=True)
        s = self.settings
        port = s.port if port is None else port
        hosts = (s.host, *s.extra_hosts)
        env = store_env(
            bind=fd_binds(sockets) if sockets else ",".join(f"{h}:{port}" for h in hosts),
            workers=s.workers,
            threads=s.threads,
            database_url=self.database_url,
            secret_key=self._secret_key,
            admin_token=self.admin_token,
            env=s.env,
            prometheus_dir=prometheus_dir,
            faults=s.faults,
        )
        if s.unsafe_stock:
            env["STORE_UNSAFE_STOCK"] = "1"
        env["STORE_WORKER_CLASS"] = s.worker_class
        env["STORE_WORKER_CONNECTIONS"] = str(s.worker_connections)
        if s.hash_seed is not None:
            env["PYTHONHASHSEED"] = str(s.hash_seed)
        return env

    @property
    def urls(self) -> list[str]:
        """The store's base URL on each address it listens on."""
        from urllib.parse import urlsplit

        port = urlsplit(self.url).port
        return [
            f"http://{host}:{port}" for host in (self.settings.host, *self.settings.extra_hosts)
        ]

    def _seed(self) -> None:
        s = self.settings
        cmd = seed_command(
            self.database_url,
            products=s.products,
            deal_stock=s.deal_stock,
            deal_per_user_limit=s.deal_per_user_limit,
            users=s.users,
            deal_opens_at=s.deal_opens_at,
        )
        env = dict(os.environ)
        if s.env == "bench":
            env.setdefault("STORE_PASSWORD_HASH", BENCH_PASSWORD_HASH)
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=120, check=False
            )
        except subprocess.TimeoutExpired:
            raise StoreError("seeding the store database took longer than 120 s") from None
        if proc.returncode != 0:
            raise StoreError(f"seeding the store database failed:\n{tail(proc.stderr)}")

    def _spawn(self, port: int | None = None) -> None:
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        s = self.settings
        # several addresses on one kernel-chosen port: bound here and inherited, so the
        # port cannot be taken between choosing it and gunicorn serving it (one address
        # on port 0 is bound by gunicorn itself and read back from its log)
        chosen = port if port is not None else s.port
        hosts = (s.host, *s.extra_hosts)
        sockets = listening_sockets(hosts) if s.extra_hosts and not chosen else []
        try:
            self._proc = subprocess.Popen(
                gunicorn_command(),
                env=self._env(port, sockets),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals all of it
                pass_fds=[sock.fileno() for sock in sockets],
            )
        finally:
            for sock in sockets:  # gunicorn holds them now: a restart must refuse
                sock.close()
        self.pid = self._proc.pid

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return ""

    def _fail(self, why: str) -> StoreError:
        return StoreError(f"{why}; last store log lines:\n{self.log_tail()}")

    def _wait_ready(self) -> None:
        import urllib.error
        import urllib.request

        assert self._proc is not None
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._fail(f"gunicorn exited with code {self._proc.returncode}")
            if not self.url:
                found = _LISTENING.search(self.log_path.read_text(errors="replace"))
                if found:
                    self.url = found.group(1).rstrip("/")
            if self.url:
                try:
                    with urllib.request.urlopen(self.url + "/ready", timeout=2) as resp:
                        if resp.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.05)
        raise self._fail(
            f"the store did not become ready within {self.settings.startup_timeout_s:g} s"
        )

    def _terminate(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the process group, wait, then SIGKILL; idempotent."""
        self._terminate(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._owns_data_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._owns_data_dir = False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- operations -------------------------------------------------------------
    def verify(self) -> dict[str, Any]:
        """The invariant report (``python -m target_app verify --json`` on the same DB)."""
        if not self.database_url:
            raise StoreError("the store was never started")
        return verify_database(self.database_url)

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Set fault knobs via the admin API; every worker applies them within ~0.5 s."""
        self._admin("PUT", "/api/admin/faults", faults)

    def reset_faults(self) -> None:
        self._admin("DELETE", "/api/admin/faults", None)

    def reload(self) -> None:
        """SIGHUP: gunicorn starts new workers and gracefully stops the old ones."""
        if self._proc is None:
            raise StoreError("the store is not running")
        os.kill(self._proc.pid, signal.SIGHUP)

    def restart(self, timeout: float = 10) -> None:
        """Stop gunicorn, then start it again on the same port with the same database.

        The naive ("bad") deploy: between the two, connections are refused. Returns
        when the new server answers ``/ready`` (StoreError if it does not in time).
        """
        if self._proc is None or not self.url:
            raise StoreError("the store is not running")
        from urllib.parse import urlsplit

        port = urlsplit(self.url).port
        self._terminate(timeout)
        self._spawn(port)
        self._wait_ready()

    def worker_pids(self) -> list[int]:
        """The pids of gunicorn's live worker processes (children of the master)."""
        import psutil

        if self._proc is None:
            return []
        try:
            children = psutil.Process(self._proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        live = []
        for child in children:
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    live.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return sorted(live)

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (``pid``, or the lowest live one); gunicorn must replace it."""
        pids = self.worker_pids()
        if not pids:
            raise StoreError("the store has no live worker to kill")
        if pid is None:
            pid = pids[0]
        elif pid not in pids:
            raise StoreError(f"{pid} is not a worker of this store (workers: {pids})")
        os.kill(pid, signal.SIGKILL)
        return pid

    def _admin(self, method: str, path: str, body: Any) -> Any:
        import urllib.error
        import urllib.request

        if not self.url:
            raise StoreError("the store is not running")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"X-Admin-Token": self.admin_token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise StoreError(f"{method} {path} failed with {exc.code}: {detail}") from None
        except OSError as exc:
            raise StoreError(f"{method} {path} failed: {exc}") from None


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
