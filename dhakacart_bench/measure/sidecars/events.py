"""The events sidecar: carry out the scenario's ``[[events]]`` at their times.

At each event's ``at`` it acts — a rolling deploy (SIGHUP, done when every old worker is
gone and the new ones answer), a restart deploy (stop then start on the same port, done
when ``/ready``), a shell command (output into the run folder), a killed worker (done
when gunicorn has replaced it), fault knobs — and records when it started and ended and
whether it worked. The maths on these records is in :mod:`dhakacart_bench.stats.recovery`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dhakacart_bench.runfolder.layout import EVENTS_DIR, atomic_write_text

if TYPE_CHECKING:
    from dhakacart_bench.measure.sidecars.base import SidecarContext
    from dhakacart_bench.scenario.model import EventSpec


#: How long ``stop`` waits for checks and events still in flight.
DEFAULT_STOP_GRACE_S = 10.0
#: A deploy or killed worker that is not done within this is recorded as failed.
DEFAULT_SETTLE_TIMEOUT_S = 60.0
POLL_S = 0.1


class EventsSidecar:
    """Carry out the scenario's ``[[events]]`` at their times and record what happened."""

    name = "events"

    def __init__(
        self,
        events: tuple[EventSpec, ...],
        *,
        settle_timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S,
        stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    ) -> None:
        self.events = events
        self.settle_timeout_s = settle_timeout_s
        self.stop_grace_s = stop_grace_s
        self.records: list[dict[str, Any]] = [
            {
                "index": i,
                "action": e.action,
                "label": e.label,
                "at_s": round(e.at_s, 3),
                "strategy": e.strategy,
                "started_s": None,
                "ended_s": None,
                "ok": None,
                "error": "not run: the run ended first",
                "detail": {},
            }
            for i, e in enumerate(events)
        ]
        self._ctx: SidecarContext | None = None
        self._group: Any = None

    def start(self, ctx: SidecarContext) -> None:
        import gevent.pool

        self._ctx = ctx
        self._group = gevent.pool.Group()
        for i, event in enumerate(self.events):
            self._group.spawn(self._at, i, event)

    def _now(self) -> float:
        assert self._ctx is not None
        return time.time() - self._ctx.run_start

    def _at(self, index: int, event: EventSpec) -> None:
        import gevent

        delay = event.at_s - self._now()
        if delay > 0:
            gevent.sleep(delay)
        record = self.records[index]
        record.update(started_s=round(self._now(), 3), error=None)
        try:
            detail = self._act(event, record)
        except Exception as exc:  # an event that fails is a result
            record.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        else:
            record.update(ok=True, detail=detail)
        finally:
            record["ended_s"] = round(self._now(), 3)
        if event.action == "deploy" or event.action == "command":
            record["window"] = {"start_s": record["started_s"], "end_s": record["ended_s"]}
        if event.action == "faults" and event.for_s is not None and record["ok"]:
            self._clear_later(record, event)

    def _clear_later(self, record: dict[str, Any], event: EventSpec) -> None:
        import gevent

        assert event.for_s is not None and self._ctx is not None
        gevent.sleep(max(0.0, event.at_s + event.for_s - self._now()))
        try:
            self._store().reset_faults()
        except Exception as exc:  # recorded, not raised
            record.update(ok=False, error=f"clearing the faults failed: {exc}"[:500])
        record["cleared_s"] = round(self._now(), 3)

    def _store(self) -> Any:
        assert self._ctx is not None
        if self._ctx.store is None:
            raise RuntimeError("this action needs the bundled store (the run has --host)")
        return self._ctx.store

    def _act(self, event: EventSpec, record: dict[str, Any]) -> dict[str, Any]:
        if event.action == "deploy":
            if event.strategy == "restart":
                return self._restart()
            return self._rolling()
        if event.action == "command":
            return self._command(event, record["index"])
        if event.action == "kill-worker":
            return self._kill_worker()
        if event.action == "faults":
            self._store().set_faults(dict(event.faults or {}))
            return {"faults": dict(event.faults or {})}
        if event.action == "clear-faults":
            self._store().reset_faults()
            return {}
        raise ValueError(f"unknown event action {event.action!r}")

    def _settle(self, done: Any, what: str) -> None:
        import gevent

        deadline = time.monotonic() + self.settle_timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not done within {self.settle_timeout_s:g} s")
            gevent.sleep(POLL_S)

    def _healthy(self) -> bool:
        import httpx

        try:
            return httpx.get(self._store().url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _rolling(self) -> dict[str, Any]:
        """SIGHUP; done when no old worker is left, the count is back, ``/health`` answers."""
        store = self._store()
        old = set(store.worker_pids())
        want = len(old) or int(getattr(store.settings, "workers", 1))
        store.reload()

        def done() -> bool:
            pids = set(store.worker_pids())
            return not (pids & old) and len(pids) >= want and self._healthy()

        self._settle(done, "the rolling deploy")
        return {"old_workers": sorted(old), "new_workers": store.worker_pids()}

    def _restart(self) -> dict[str, Any]:
        """Stop, then start on the same port; done when ``/ready`` answers."""
        store = self._store()
        old_pid = store.pid
        store.restart()
        return {"old_master": old_pid, "new_master": store.pid}

    def _kill_worker(self) -> dict[str, Any]:
        """SIGKILL one worker; done when gunicorn has started a replacement."""
        store = self._store()
        before = set(store.worker_pids())
        killed = store.kill_worker()
        t0 = time.monotonic()

        def replaced() -> bool:
            pids = set(store.worker_pids())
            return killed not in pids and len(pids) >= len(before)

        self._settle(replaced, "replacing the killed worker")
        new = sorted(set(store.worker_pids()) - before)
        return {
            "killed_pid": killed,
            "new_workers": new,
            "replaced_after_s": round(time.monotonic() - t0, 3),
        }

    def _command(self, event: EventSpec, index: int) -> dict[str, Any]:
        """Run the shell command (gevent-patched subprocess); capture its output."""
        import os
        import subprocess

        assert self._ctx is not None and event.command is not None
        folder = self._ctx.run_dir / EVENTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "BENCH_HOST": self._ctx.host, "BENCH_RUN_DIR": str(self._ctx.run_dir)}
        proc = subprocess.Popen(  # the user's own deploy command
            event.command,
            shell=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        timed_out = False
        try:
            out, err = proc.communicate(timeout=event.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            out, err = proc.communicate()
        finally:
            if proc.poll() is None:
                _kill_group(proc.pid)
                proc.wait()
        files = {}
        for stream, data in (("stdout", out), ("stderr", err)):
            name = f"{EVENTS_DIR}/{index}-{stream}.txt"
            atomic_write_text(self._ctx.run_dir / name, (data or b"").decode(errors="replace"))
            files[stream] = name
        detail = {"exit_code": proc.returncode, "files": files}
        if timed_out:
            raise TimeoutError(f"the command ran longer than {event.timeout_s:g} s (killed)")
        if proc.returncode != 0:
            raise RuntimeError(f"the command exited with code {proc.returncode} (see {files})")
        return detail

    def stop(self) -> dict[str, Any]:
        if self._group is not None:
            # Events not yet due are dropped; events in flight get a grace period.
            for greenlet in list(self._group):
                record = self.records[self._group_index(greenlet)]
                if record["started_s"] is None:
                    greenlet.kill(block=True, timeout=1)
            self._group.join(timeout=self.stop_grace_s)
            for greenlet in list(self._group):
                record = self.records[self._group_index(greenlet)]
                record.update(ok=False, error="still running when the run ended (stopped)")
            self._group.kill(block=True, timeout=2)
        return {"events": self.records}

    def _group_index(self, greenlet: Any) -> int:
        return int(greenlet.args[0])


def _kill_group(pid: int) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
