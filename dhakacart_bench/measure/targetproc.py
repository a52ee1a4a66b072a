"""Which processes on this machine are the target: so that the noisy-neighbour check
(:class:`~dhakacart_bench.measure.health.HostMonitor`) does not count a target running
beside the load generator as "foreign", and the report can show its CPU.

For a ``--host`` on this machine (a loopback address, or one of this machine's own
addresses) the process listening on the target's port is found with psutil, and its
process tree is counted as the target's — automatically, and again every few seconds
(a deploy may replace it). For what that cannot see (a container behind a proxy
process, a target reached through a port forward), ``--target-pid`` names the roots.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

#: Re-find the listening process this often (samples), and at once when the one found
#: has exited (a deploy replaced it). A look reads every socket of every process of the
#: machine (~25-90 ms here): every 5 samples it was most of bench's own per-second CPU.
REDISCOVER_EVERY = 30


def _local_addresses() -> set[str]:
    import psutil

    out = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                out.add(addr.address.split("%")[0])
    return out


def target_address(host: str) -> tuple[set[str], int] | None:
    """``({addresses}, port)`` of ``host`` (a base URL) when it is on this machine, else
    None (a remote target, or a name that does not resolve)."""
    try:
        parts = urlsplit(host)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    resolved = {str(info[4][0]).split("%")[0] for info in infos}
    local = _local_addresses()
    if all(ipaddress.ip_address(a).is_loopback or a in local for a in resolved):
        return resolved, port
    return None


def listening_pids(host: str) -> tuple[int, ...]:
    """The processes listening on ``host``'s port on this machine (empty: a remote
    target, nobody listening, or listeners this user may not see)."""
    import psutil

    where = target_address(host)
    if where is None:
        return ()
    addresses, port = where
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return ()
    wildcard = {"0.0.0.0", "::", ""}
    pids = {
        c.pid
        for c in connections
        if c.status == psutil.CONN_LISTEN
        and c.laddr
        and c.laddr.port == port
        and c.pid is not None
        and (c.laddr.ip in addresses or c.laddr.ip in wildcard)
    }
    return tuple(sorted(pids))


def watch_target(
    host: str, *, store_pid: int | None, target_pids: Sequence[int]
) -> tuple[dict[str, Any], str | None]:
    """The :class:`~dhakacart_bench.measure.health.HostMonitor` arguments that count the
    target as the target, and how it was found (None: not on this machine, or not found).

    The bundled store is its own gunicorn tree; ``--target-pid`` names roots; otherwise a
    ``--host`` on this machine is whoever listens on its port (found again every few
    seconds)."""
    if store_pid:
        return {"target_pids": (store_pid, *target_pids)}, "bundled store"
    named = tuple(target_pids)
    where = target_address(host)
    if where is None:
        source = "--target-pid" if named else None
        return {"target_pids": named}, source
    port = where[1]
    found = listening_pids(host)
    words = [f"listening on port {port}"] if found else []
    if named:
        words.append("--target-pid")
    return (
        {"target_pids": named, "discover": lambda: listening_pids(host)},
        " and ".join(words) or None,
    )


def watch_arms(
    urls: Mapping[str, str], *, store_pids: Mapping[str, int | None], target_pids: Sequence[int]
) -> tuple[dict[str, Any], str | None]:
    """:func:`watch_target` for an A/B run: both arms' targets are the target, each found
    as one run's would be (its bundled store, or whoever listens on its port)."""
    named: list[int] = list(target_pids)
    finders: list[Callable[[], Sequence[int]]] = []
    sources: list[str] = []
    for arm, url in urls.items():
        watch, source = watch_target(url, store_pid=store_pids.get(arm), target_pids=())
        named.extend(watch["target_pids"])
        if "discover" in watch:
            finders.append(watch["discover"])
        if source:
            sources.append(f"{arm}: {source}")
    if target_pids:
        sources.append("--target-pid")
    found: dict[str, Any] = {"target_pids": tuple(named)}
    if finders:
        found["discover"] = lambda: tuple(sorted({pid for find in finders for pid in find()}))
    return found, "; ".join(sources) or None
