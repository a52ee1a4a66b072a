"""The target of a run: which one and why (:func:`resolve_target`, Locust's precedence),
checking that an external host answers, and the bundled store started, sized and
prepared for the scenario (its flash-sale opening moved to the scenario's minute).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import TargetUnreachable, UsageError
from dhakacart_bench.measure.limits import sockets_per_process
from dhakacart_bench.runfolder.meta import InvariantsMeta
from dhakacart_bench.target.commands import StoreSettings
from dhakacart_bench.target.process import ManagedStore

if TYPE_CHECKING:
    from dhakacart_bench.measure.config import RunConfig
    from dhakacart_bench.scenario.model import Scenario


DEFAULT_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    """Where the load goes (``host`` None: the bundled store) and why."""

    host: str | None
    reason: str

    @property
    def line(self) -> str:
        """The run's first line."""
        if self.host is None:
            return f"Target: the bundled store, started on a free port ({self.reason})"
        return f"Target: {self.host} ({self.reason})"


def resolve_target(host: str | None, scenario: Scenario, *, source: str | None = None) -> Target:
    """Locust's precedence: ``-H``/``--host`` (or Locust's config: ``source`` says which),
    then the scenario's ``host``, then the user classes' ``host``; the bundled store
    only when none is given. User classes aiming at different hosts need ``-H``."""
    if host:
        return Target(host, f"from {source or '-H/--host'}")
    if scenario.host:
        return Target(scenario.host, f"from host in {scenario.path.name}")
    from dhakacart_bench.measure.engines.locustfile import load_user_classes

    hosts: dict[str, list[str]] = {}
    for cls in load_user_classes(scenario):
        own = getattr(cls, "host", None)
        if isinstance(own, str) and own:
            hosts.setdefault(own, []).append(cls.__name__)
    if len(hosts) > 1:
        named = "; ".join(f"{', '.join(names)}: {h}" for h, names in hosts.items())
        raise UsageError(
            f"the user classes aim at different hosts ({named}); bench runs one target:"
            " choose it with -H/--host"
        )
    if hosts:
        ((own, names),) = hosts.items()
        return Target(own, f"from {', '.join(names)}.host in {scenario.locustfile.name}")
    return Target(None, "no -H/--host, no host in the scenario, no host on the user classes")


def probe_target(host: str, *, path: str = "/", timeout: float = DEFAULT_PROBE_TIMEOUT_S) -> None:
    """Raise TargetUnreachable unless ``host`` answers HTTP at all (any status, no
    redirect followed).

    With the standard library's ``http.client`` (Locust loads it anyway): httpx would
    stay loaded in the load generator for the whole run (~4 MiB of its memory).
    """
    import http.client
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(host.rstrip("/") + path)
        https = parts.scheme == "https"
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = kind(parts.netloc, timeout=timeout)
        try:
            connection.request("GET", target)
            connection.getresponse().read()
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TargetUnreachable(
            f"the target {host} did not answer ({type(exc).__name__}: {exc}); "
            "check --host, or leave it out to test the bundled store"
        ) from exc


def schedule_deal_opening(url: str, admin_token: str, opens_at: datetime) -> None:
    """Move the bundled store's flash-sale opening to ``opens_at`` (admin API)."""
    import httpx

    headers = {"X-Admin-Token": admin_token}
    deals = httpx.get(f"{url}/api/deals", timeout=10).json()["items"]
    for deal in deals:
        httpx.put(
            f"{url}/api/admin/deals/{deal['id']}",
            json={"starts_at": opens_at.isoformat()},
            headers=headers,
            timeout=10,
        ).raise_for_status()


#: Above this many users the bundled store is set up for many connections:
#: gevent workers, several listening addresses, enough processes for the sockets.
LARGE_RUN_USERS = 10_000
#: Connections per (client address, server address) pair we allow ourselves;
#: a pair has ~28,000 ephemeral ports, some of them in TIME_WAIT.
CONNECTIONS_PER_ADDRESS = 20_000


def store_settings(scenario: Scenario, config: RunConfig) -> Any:
    """The bundled store's settings for this scenario at this size."""
    import math

    spec = scenario.store
    workers = config.store_workers or spec.workers
    users = scenario.load.peak_users
    large: dict[str, Any] = {}
    if users > LARGE_RUN_USERS:
        workers = max(workers, math.ceil(users / sockets_per_process()))
        # one address per local worker when there are workers, at least enough for the pairs
        addresses = min(32, max(math.ceil(users / CONNECTIONS_PER_ADDRESS), config.workers))
        large = {
            "worker_class": "gevent",
            "worker_connections": math.ceil(users / workers) + 1000,
            "extra_hosts": tuple(f"127.0.0.{i}" for i in range(2, addresses + 1)),
        }
    return StoreSettings(
        database_url=config.database_url,
        workers=workers,
        threads=spec.threads,
        products=spec.products,
        deal_stock=spec.deal_stock,
        deal_per_user_limit=spec.deal_per_user_limit,
        users=spec.users,
        faults=dict(spec.faults) if spec.faults else None,
        **large,
    )


@contextmanager
def bundled_store(scenario: Scenario, config: RunConfig) -> Iterator[Any]:
    """Start the reference store for this scenario; stop it afterwards."""

    settings = store_settings(scenario, config)
    store = ManagedStore(settings)
    try:
        store.start()
        yield store
    finally:
        store.stop()


def store_invariants(store: Any) -> InvariantsMeta | None:
    """The bundled store's invariant check (oversold stock, ...) as run.json records it;
    None for an external target."""
    if store is None:
        return None
    report = store.verify()
    return InvariantsMeta(
        checked=True,
        ok=bool(report.get("ok")),
        problems=tuple(str(p) for p in report.get("problems") or ()),
        checks=tuple(str(c) for c in report.get("checked") or ()),
        stats=dict(report.get("stats") or {}),
    )
