"""The probe sidecar (``[probe]``): an availability probe independent of the Locust users.

Every ``interval`` each path is fetched once with one httpx client; each check is its
own greenlet, so a hanging check never delays the schedule. Every check is written to
``probe.csv`` (docs/reliability.md); the section holds the counts. The runner's process
has imported locust, so httpx's sockets are gevent's and yield to the loop.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dhakacart_bench.runfolder.layout import PROBE_CSV, atomic_write_text
from dhakacart_bench.runfolder.writer import probe_csv_text
from dhakacart_bench.stats.availability import Check

if TYPE_CHECKING:
    from dhakacart_bench.measure.sidecars.base import SidecarContext
    from dhakacart_bench.scenario.model import ProbeSpec


def classify_exception(exc: BaseException) -> str:
    """The kind of a failed check with no response: refused, reset, timeout or error."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return "refused"
            cause = cause.__cause__ or cause.__context__
        return "refused" if "111" in str(exc) else "reset"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return "reset"
    return "error"


def classify_status(status: int) -> tuple[bool, str]:
    """(ok, kind) of an HTTP answer: 2xx/3xx succeed."""
    if status < 400:
        return True, "ok"
    return False, "5xx" if status >= 500 else "4xx"


class ProbeSidecar:
    """Fetch each probe path every interval; record every check."""

    name = "probe"

    def __init__(self, spec: ProbeSpec) -> None:
        self.spec = spec
        self.checks: list[Check] = []
        self._ctx: SidecarContext | None = None
        self._loop: Any = None
        self._pending: Any = None
        self._client: Any = None

    def start(self, ctx: SidecarContext) -> None:
        import gevent
        import gevent.pool
        import httpx

        self._ctx = ctx
        self._client = httpx.Client(
            base_url=ctx.host,
            timeout=self.spec.timeout_s,
            follow_redirects=False,
            headers={"User-Agent": "dhakacart-bench-probe"},
            # A new connection per check, as an uptime probe opens one: it checks that
            # the target accepts connections (what a deploy breaks), and no check can
            # reuse a kept-alive connection the server is closing at that moment (a
            # false "reset" when the interval meets the server's keep-alive timeout).
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._pending = gevent.pool.Group()
        self._loop = gevent.spawn(self._run)

    def _run(self) -> None:
        import gevent

        assert self._ctx is not None
        first = time.time()
        tick = 0
        while True:
            due = first + tick * self.spec.interval_s
            delay = due - time.time()
            if delay > 0:
                gevent.sleep(delay)
            for path in self.spec.paths:
                self._pending.spawn(self._check, path)
            tick += 1

    def _check(self, path: str) -> None:
        assert self._ctx is not None
        sent = time.time()
        t0 = time.perf_counter()
        status: int | None = None
        try:
            response = self._client.get(path)
            status = response.status_code
            ok, kind = classify_status(status)
        except Exception as exc:  # every failure is a measurement
            ok, kind = False, classify_exception(exc)
        latency = (time.perf_counter() - t0) * 1000
        self.checks.append(Check(sent - self._ctx.run_start, path, ok, status, kind, latency))

    def stop(self) -> dict[str, Any]:

        if self._loop is not None:
            self._loop.kill(block=True)
        if self._pending is not None:
            self._pending.join(timeout=self.spec.timeout_s + 1)
            self._pending.kill(block=True, timeout=1)
        if self._client is not None:
            self._client.close()
        if self._ctx is not None:
            atomic_write_text(self._ctx.run_dir / PROBE_CSV, probe_csv_text(self.checks))
        by_path: dict[str, dict[str, int]] = {
            p: {"checks": 0, "failures": 0} for p in self.spec.paths
        }
        by_kind: dict[str, int] = {}
        for c in self.checks:
            by_path[c.path]["checks"] += 1
            if not c.ok:
                by_path[c.path]["failures"] += 1
                by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
        return {
            "file": PROBE_CSV,
            "interval_s": self.spec.interval_s,
            "timeout_s": self.spec.timeout_s,
            "paths": list(self.spec.paths),
            "slo_pct": self.spec.slo_pct,
            "checks": len(self.checks),
            "failures": sum(by_kind.values()),
            "by_path": by_path,
            "by_kind": dict(sorted(by_kind.items())),
        }
