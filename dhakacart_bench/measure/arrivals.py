"""The open workload model: shoppers arrive at a rate, whether or not the target is slow.

Locust only has closed loops (a user waits for its answer, then thinks, then asks
again), so a slow target slows its own load down and the latency of a stall is hidden
(coordinated omission). Here an :class:`ArrivalGate` plans arrivals at the scenario's
rate (Poisson or evenly spaced) in one greenlet and hands each one to the next idle user
of a pool capped at ``max_users``. A user of the pool runs one task per arrival; its
``wait_time`` blocks until the next arrival. When every user of the pool is busy,
arrivals queue: the time an arrival waited for a free user is its *lag*, recorded in an
HDR histogram and reported, so a pool that was too small is visible rather than silently
turning the open model back into a closed one.

**Lanes** (an A/B run: one per arm). Each planned arrival goes to one lane, in shuffled
pairs — of every two arrivals one to each lane, in random order — and is taken only by
an idle user of that lane (the users of one arm). Both arms are therefore offered the
same arrivals at the same moments whatever their latency: a slower candidate does not
get less load than the baseline, as it would in a closed loop, where its users would
send fewer requests and its queue would shrink. Counts and lag are kept per lane.

Runs inside a Locust process (gevent); import it only after locust.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent
from gevent.queue import Empty, Queue
from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.meta import ArrivalsMeta

#: Arrivals waiting longer than this for a free user are dropped (and counted).
DEFAULT_MAX_LAG_S = 10.0
#: The scheduler never sleeps longer than this, so rate changes apply promptly.
DEFAULT_MAX_SLEEP_S = 0.05
#: Lag above this (ms, p99) means the pool (max_users) was too small.
LATE_THRESHOLD_MS = 50.0


class ArrivalLane:
    """One stream of arrivals and its record: the queue its users take from, the counts
    and the lag (time an arrival waited for a free user) histogram."""

    def __init__(self) -> None:
        self.queue: Queue[float] = Queue()
        self.lag = HdrHistogram(1, 3_600_000_000, 3)
        self.planned = 0
        self.started = 0
        self.dropped = 0
        self.late = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "started": self.started,
            "dropped": self.dropped + self.queue.qsize(),
            "late": self.late,
            "lag": self.lag.encode() if self.lag.get_total_count() else None,
        }


class ArrivalGate:
    """Plans arrivals at ``rate_at(elapsed)`` per second and hands them to idle users.

    ``share`` is this process's part of the total rate (1 / number of workers
    in a distributed run). ``lanes`` names the lanes arrivals are split over (none: one
    lane for every user). ``clock`` and ``rng`` are seams for tests.
    """

    def __init__(
        self,
        rate_at: Callable[[float], float],
        *,
        arrival: str = "poisson",
        share: float = 1.0,
        max_lag_s: float = DEFAULT_MAX_LAG_S,
        lanes: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if arrival not in ("poisson", "uniform"):
            raise ValueError(f"arrival must be 'poisson' or 'uniform', not {arrival!r}")
        self._rate_at = rate_at
        self._poisson = arrival == "poisson"
        self._share = share
        self._max_lag_s = max_lag_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._lanes: dict[str | None, ArrivalLane] = {
            name: ArrivalLane() for name in (tuple(lanes) or (None,))
        }
        self._next_lanes: list[str | None] = []
        self._greenlet: gevent.Greenlet | None = None
        self.start_time: float | None = None

    def lane(self, name: str | None = None) -> ArrivalLane:
        """The lane ``name`` (None: the only lane of a gate without lanes)."""
        return self._lanes[name]

    @property
    def planned(self) -> int:
        """Arrivals planned so far, every lane (the rest of the counts: :meth:`stats`)."""
        return sum(lane.planned for lane in self._lanes.values())

    # -- scheduling ---------------------------------------------------------------
    def _gap(self, rate: float) -> float:
        return self._rng.expovariate(rate) if self._poisson else 1.0 / rate

    def _next_lane(self) -> ArrivalLane:
        """The lane of the next arrival: shuffled pairs over the lanes."""
        if len(self._lanes) == 1:
            return next(iter(self._lanes.values()))
        if not self._next_lanes:
            self._next_lanes.extend(self._lanes)
            self._rng.shuffle(self._next_lanes)
        return self._lanes[self._next_lanes.pop()]

    def plan_until(self, now: float, next_at: float) -> float:
        """Queue every arrival due by ``now``; return when the next one is due."""
        assert self.start_time is not None
        while next_at <= now:
            lane = self._next_lane()
            lane.queue.put(next_at)
            lane.planned += 1
            rate = self._rate_at(next_at - self.start_time) * self._share
            if rate <= 0:
                # no arrivals in this stage: look again a moment later
                return max(next_at, now) + DEFAULT_MAX_SLEEP_S
            next_at += self._gap(rate)
        return next_at

    def _run(self) -> None:
        assert self.start_time is not None
        next_at = self.start_time
        while True:
            now = self._clock()
            rate = self._rate_at(now - self.start_time) * self._share
            # no arrivals while the rate is zero: look again a moment later
            next_at = now + DEFAULT_MAX_SLEEP_S if rate <= 0 else self.plan_until(now, next_at)
            gevent.sleep(min(max(next_at - self._clock(), 0.0), DEFAULT_MAX_SLEEP_S))

    def start(self, start_time: float | None = None) -> None:
        self.start_time = self._clock() if start_time is None else start_time
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    # -- the users' side ------------------------------------------------------------
    def wait(self, lane: str | None = None) -> float:
        """Block until the next arrival of ``lane`` is due to this user; return 0 (no
        think time)."""
        own = self._lanes[lane]
        while True:
            due = own.queue.get()
            lag = self._clock() - due
            if lag > self._max_lag_s:
                own.dropped += 1
                continue
            own.started += 1
            lag_ms = max(lag, 0.0) * 1000.0
            if lag_ms > LATE_THRESHOLD_MS:
                own.late += 1
            own.lag.record_value(max(1, round(lag_ms * 1000)))
            return 0.0

    def backlog(self) -> int:
        return sum(lane.queue.qsize() for lane in self._lanes.values())

    def drain(self) -> int:
        """Drop arrivals still queued at the end of the run; return how many."""
        n = 0
        for lane in self._lanes.values():
            while True:
                try:
                    lane.queue.get_nowait()
                except Empty:
                    break
                n += 1
        return n

    def stats(self, lane: str | None = None) -> ArrivalsMeta:
        """The record of one lane, or (None) of every lane merged."""
        if lane is not None:
            return arrival_stats(self._lanes[lane].to_wire())
        return arrival_stats(self.to_wire())

    def to_wire(self) -> dict[str, Any]:
        """Counts and the encoded lag histogram, every lane merged: what a distributed
        worker ships."""
        lag = HdrHistogram(1, 3_600_000_000, 3)
        for lane in self._lanes.values():
            lag.add(lane.lag)
        wires = [lane.to_wire() for lane in self._lanes.values()]
        return {
            **{k: sum(w[k] for w in wires) for k in ("planned", "started", "dropped", "late")},
            "lag": lag.encode() if lag.get_total_count() else None,
        }


def arrival_stats(*wires: dict[str, Any]) -> ArrivalsMeta:
    """Merge the open-model records of one or more processes exactly."""
    lag = HdrHistogram(1, 3_600_000_000, 3)
    for wire in wires:
        if wire.get("lag"):
            lag.add(HdrHistogram.decode(wire["lag"]))

    def ms(us: float) -> float:
        return round(us / 1000.0, 3)

    empty = lag.get_total_count() == 0
    return ArrivalsMeta(
        planned=sum(int(w["planned"]) for w in wires),
        started=sum(int(w["started"]) for w in wires),
        dropped=sum(int(w["dropped"]) for w in wires),
        late=sum(int(w["late"]) for w in wires),
        lag_ms_p50=0.0 if empty else ms(lag.get_value_at_percentile(50)),
        lag_ms_p99=0.0 if empty else ms(lag.get_value_at_percentile(99)),
        lag_ms_max=0.0 if empty else ms(lag.get_max_value()),
        late_threshold_ms=LATE_THRESHOLD_MS,
    )


def open_model_class(
    user_class: Any, gate: ArrivalGate, lane_of: Callable[[Any], str] | None = None
) -> type:
    """A subclass of ``user_class`` whose tasks start on arrivals from ``gate``.

    Its ``wait_time`` blocks for the next arrival (of the user's lane, ``lane_of(user)``,
    when the gate has lanes), and ``on_start`` waits for one too, so a freshly spawned
    user doesn't run an unplanned first task.
    """

    def wait_time(self: Any) -> float:
        return gate.wait(None if lane_of is None else lane_of(self))

    def on_start(self: Any) -> None:
        user_class.on_start(self)
        gate.wait(None if lane_of is None else lane_of(self))

    return type(
        user_class.__name__,
        (user_class,),
        {"wait_time": wait_time, "on_start": on_start, "__module__": user_class.__module__},
    )
