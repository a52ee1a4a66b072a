"""Locust's heartbeat tolerance, set on master and workers, and the stop of a worker the
master has given up on.

Locust 2.47 reads its heartbeat tolerance from module constants of ``locust.runners``
(``HEARTBEAT_INTERVAL = 1`` s, ``HEARTBEAT_LIVENESS = 3`` missed beats) at run time;
setting them is the tuning its maintainers point to. On a saturated machine a busy
worker misses three beats without dying: the master marks it "missing" and hands its
users to the others, but never tells it to stop (locust#1158), so the same users run
twice. bench raises the tolerance (``--heartbeat-liveness``), and when the master still
marks a worker missing it sends that worker ``bench_missing``: the worker stops its
users at once, through Locust's own "stop" handling (stop users, ``client_stopped``,
then ``client_ready`` after the stop timeout): its share goes to the other workers,
and it rejoins the master's table as ready.
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import logging
from collections.abc import Callable
from typing import Any

import locust.runners
from locust.rpc import Message

MSG_MISSING = "bench_missing"
logger = logging.getLogger(__name__)


def apply_heartbeat(liveness: int | None) -> None:
    """Set Locust's heartbeat tolerance in this process (None: leave Locust's)."""
    if liveness is None:
        return
    if liveness < 1:
        raise ValueError(f"heartbeat liveness must be at least 1 beat, got {liveness}")
    locust.runners.HEARTBEAT_LIVENESS = int(liveness)


def heartbeat_liveness() -> int:
    """The tolerance in force in this process (missed beats before "missing")."""
    return int(locust.runners.HEARTBEAT_LIVENESS)


def tell_missing(runner: Any, client_id: str, *, users: int | None) -> None:
    """Master side: tell a worker marked missing to stop the users it may still run."""
    runner.send_message(MSG_MISSING, {"users_held": users}, client_id=client_id)


def stop_when_given_up(runner: Any, *, before_stop: Callable[[], None] | None = None) -> None:
    """Worker side: on ``bench_missing``, stop this worker's users the way Locust's own
    "stop" message does (the master then re-admits it as ready)."""

    def on_missing(environment: Any, msg: Message, **kwargs: Any) -> None:
        held = (msg.data or {}).get("users_held")
        logger.warning(
            "the master gave up on this worker (missed heartbeats; it held %s users):"
            " stopping its %d users now",
            held,
            runner.user_count,
        )
        if before_stop is not None:
            before_stop()
        runner.handle_message(Message("stop", None, msg.node_id))

    runner.register_message(MSG_MISSING, on_missing, concurrent=True)
