"""The two arms of an A/B run: users assigned at random and balanced, requests routed
to each arm's recorder.

Each new user is given an arm before its HTTP client is built (its ``host`` is that
arm's URL), so its whole session — token, cart, checkout — stays on one arm. Users are
assigned per user class in shuffled pairs: of every two users of a class one goes to each
arm, in random order, so the arms get the same mix of shopper kinds, the same ramp and
the same moments, within one user. Every request event carries the user's arm in its
``context`` (Locust merges ``User.context()`` into it); :class:`ArmRecorders` sends it to
that arm's :class:`~dhakacart_bench.measure.recorder.Recorder`.

A business outcome (:func:`~dhakacart_bench.measure.outcomes.tally`) is counted in the
arm of the user greenlet that tallied it. No locust import: the classes are duck-typed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import gevent

from dhakacart_bench.errors import UsageError
from dhakacart_bench.measure.recorder import Recorder

ARM_KEY = "bench_arm"


class ArmAssigner:
    """Balanced random assignment of users to arms, per user class."""

    def __init__(self, urls: Mapping[str, str], seed: int | None = None) -> None:
        self.urls = dict(urls)
        self._rng = random.Random(seed)
        self._pending: dict[str, list[str]] = {}
        self.assigned = dict.fromkeys(self.urls, 0)
        self.active = dict.fromkeys(self.urls, 0)
        self.by_greenlet: dict[int, str] = {}

    def assign(self, class_name: str) -> str:
        """The arm of the next user of ``class_name``."""
        pending = self._pending.setdefault(class_name, [])
        if not pending:
            pending.extend(self.urls)
            self._rng.shuffle(pending)
        arm = pending.pop()
        self.assigned[arm] += 1
        self.active[arm] += 1
        return arm

    def left(self, arm: str) -> None:
        self.active[arm] = max(0, self.active[arm] - 1)


def arm_of(user: Any) -> str:
    """The arm of a user of a :func:`with_arms` class."""
    return str(user.bench_arm)


def close_connections(client: Any) -> None:
    """Close a Locust client's open connections; its next request opens a new one.
    FastHttpSession keeps them in its geventhttpclient agent (``client.client``),
    HttpSession (a requests.Session) in its adapters (``close()``)."""
    agent: Any = getattr(client, "client", None)
    closer: Any = agent if callable(getattr(agent, "close", None)) else client
    closer.close()


def reconnecting(client: Any, every: int) -> None:
    """Make ``client`` close its connections after every ``every`` requests.

    A server with several worker processes behind one listening socket hands each new
    connection to whichever worker accepts first, and that split is uneven and random
    (measured on the bundled store with two workers: 19 of an arm's 20 keep-alive
    connections on one worker in one run, 13 of 20 in the other arm; benoitc/gunicorn#3071).
    Kept for a whole run, the two arms' splits differ, so the arms are not quite the same
    service, in a way no resampling of the run's seconds sees (docs/gate.md, "The spread
    between instances"). Reconnecting every few seconds draws the split afresh many
    times a run, so the arms' splits average out. Each user runs one request at a time
    (its own greenlet), so no request of it is in flight when its connections close."""
    request = client.request
    sent = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        try:
            return request(*args, **kwargs)
        finally:
            sent += 1
            if sent % every == 0:
                close_connections(client)

    client.request = counted


def with_arms(cls: Any, assigner: ArmAssigner, *, reconnect_every: int = 0) -> Any:
    """``cls`` whose users each belong to one arm (host, request context), each
    closing its connections after every ``reconnect_every`` requests (0: never)."""
    if reconnect_every and getattr(cls, "client_pool", None) is not None:
        raise UsageError(
            f"{cls.__name__} shares one connection pool between its users (client_pool):"
            " ab_reconnect_every closes a user's connections, which would cut its"
            " neighbours' requests; leave it at 0 for this user class"
        )
    base_context = cls.context
    base_stop = cls.on_stop
    base_start = cls.on_start

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.bench_arm = assigner.assign(cls.__name__)
        self.host = assigner.urls[self.bench_arm]
        cls.__init__(self, *args, **kwargs)
        if reconnect_every:
            reconnecting(self.client, reconnect_every)

    def context(self: Any) -> dict[str, Any]:
        return {**base_context(self), ARM_KEY: self.bench_arm}

    def on_start(self: Any) -> None:
        assigner.by_greenlet[id(gevent.getcurrent())] = self.bench_arm
        base_start(self)

    def on_stop(self: Any) -> None:
        try:
            base_stop(self)
        finally:
            assigner.left(self.bench_arm)
            assigner.by_greenlet.pop(id(gevent.getcurrent()), None)

    return type(
        cls.__name__,
        (cls,),
        {
            "__init__": __init__,
            "context": context,
            "on_start": on_start,
            "on_stop": on_stop,
            "__module__": cls.__module__,
        },
    )


class ArmRecorders:
    """One recorder per arm behind the recorder interface the engines call."""

    def __init__(self, recorders: Mapping[str, Recorder], assigner: ArmAssigner) -> None:
        self.recorders = dict(recorders)
        self.assigner = assigner
        self.unrouted = 0

    def on_request(self, **kwargs: Any) -> None:
        context = kwargs.get("context") or {}
        arm = context.get(ARM_KEY) if isinstance(context, dict) else None
        recorder = self.recorders.get(str(arm)) if arm is not None else None
        if recorder is None:
            self.unrouted += 1
            return
        recorder.on_request(**kwargs)

    def on_outcome(self, name: str, units: int, when: float) -> None:
        arm = self.assigner.by_greenlet.get(id(gevent.getcurrent()))
        recorder = self.recorders.get(arm) if arm is not None else None
        if recorder is not None:
            recorder.on_outcome(name, units, when)

    def set_generator_sample(self, cpu_pct: float, lag_ms: float, now: float | None = None) -> None:
        for recorder in self.recorders.values():
            recorder.set_generator_sample(cpu_pct, lag_ms, now)
