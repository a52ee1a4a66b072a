"""Business outcomes: named tallies that a locustfile counts, carried into run.json.

A request's latency says how fast the store answered; an *outcome* says what the answer
meant for the business — a deal claim won, a shopper told "sold out", an order placed.
A locustfile tallies them with one call::

    from dhakacart_bench.measure.outcomes import tally

    tally("deal:claimed", units=1)   # a claim won one unit
    tally("deal:sold_out")           # a claim answered "sold out"

Each name is counted with the units it moved (``units``: items sold, say; 0 by default)
and the time it was first and last seen. The process that runs the users records the
tallies in its :class:`~dhakacart_bench.measure.recorder.Recorder`; a distributed worker
ships them to its master with its windows and errors, and the master merges them
(counts and units add up, first/last seen are the earliest and latest). They end up in
run.json's ``outcomes`` section and in the report's business section
(docs/scenarios.md, "Business outcomes").

Outside a bench run (a plain ``locust -f``) nobody listens and :func:`tally` does
nothing, so a locustfile that tallies still runs anywhere. This module never imports
locust.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dhakacart_bench.runfolder.meta import OutcomesMeta, OutcomeTally

#: Most distinct outcome names kept per run; tallies of further names count as overflow.
MAX_OUTCOMES = 200
#: Longest outcome name kept, in characters.
MAX_NAME_CHARS = 80

OutcomeListener = Callable[[str, int, float], None]
_listeners: list[OutcomeListener] = []


def tally(name: str, *, units: int = 0) -> None:
    """Count one business outcome called ``name``, which moved ``units`` units.

    Names are free text; by convention ``area:what`` (``deal:claimed``,
    ``checkout:placed``). ``units`` is a non-negative whole number (items sold, say).
    Outside a bench run this does nothing.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"an outcome needs a name, got {name!r}")
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError(f"units must be a whole number ≥ 0, got {units!r}")
    if not _listeners:
        return
    when = time.time()
    for listener in tuple(_listeners):
        listener(name.strip()[:MAX_NAME_CHARS], units, when)


def add_listener(listener: OutcomeListener) -> None:
    """Call ``listener(name, units, epoch_seconds)`` on every :func:`tally` of this process."""
    _listeners.append(listener)


def remove_listener(listener: OutcomeListener) -> None:
    """Stop calling ``listener`` (no error if it was not listening)."""
    if listener in _listeners:
        _listeners.remove(listener)


@dataclass
class _Count:
    count: int
    units: int
    first_at: float  # epoch seconds
    last_at: float

    def add(self, count: int, units: int, first_at: float, last_at: float) -> None:
        self.count += count
        self.units += units
        self.first_at = min(self.first_at, first_at)
        self.last_at = max(self.last_at, last_at)


class OutcomeBook:
    """The outcomes of a run by name, and what arrived since the last :meth:`drain`.

    At most ``max_names`` distinct names are kept; tallies of further names are counted
    in :attr:`overflow`. The same shape as
    :class:`~dhakacart_bench.measure.failures.ErrorBook`.
    """

    def __init__(self, max_names: int = MAX_OUTCOMES) -> None:
        self.max_names = max_names
        self._all: dict[str, _Count] = {}
        self._pending: dict[str, _Count] = {}
        self.overflow = 0
        self._pending_overflow = 0

    def record(self, name: str, units: int, when: float) -> None:
        """One outcome ``name`` that moved ``units`` units at epoch second ``when``."""
        self._add(name, 1, units, when, when)

    def _add(self, name: str, count: int, units: int, first: float, last: float) -> None:
        for table, is_pending in ((self._all, False), (self._pending, True)):
            known = table.get(name)
            if known is not None:
                known.add(count, units, first, last)
            elif len(table) < self.max_names:
                table[name] = _Count(count, units, first, last)
            elif is_pending:
                self._pending_overflow += count
            else:
                self.overflow += count

    def drain(self) -> list[dict[str, Any]]:
        """Tallies since the last drain, for shipping to a master: dicts of name, count,
        units, ``first_at`` / ``last_at`` (epoch seconds); overflow as ``{"overflow": n}``."""
        drained: list[dict[str, Any]] = [
            {
                "name": name,
                "count": c.count,
                "units": c.units,
                "first_at": c.first_at,
                "last_at": c.last_at,
            }
            for name, c in self._pending.items()
        ]
        if self._pending_overflow:
            drained.append({"overflow": self._pending_overflow})
        self._pending = {}
        self._pending_overflow = 0
        return drained

    def ingest(self, outcomes: Iterable[dict[str, Any]]) -> None:
        """Merge another book's :meth:`drain` output (a distributed worker's tallies)."""
        for item in outcomes:
            if set(item) == {"overflow"}:
                self.overflow += int(item["overflow"])
                self._pending_overflow += int(item["overflow"])
                continue
            self._add(
                str(item["name"]),
                int(item["count"]),
                int(item.get("units") or 0),
                float(item["first_at"]),
                float(item["last_at"]),
            )

    def section(self, run_start: float) -> OutcomesMeta | None:
        """run.json's ``outcomes``: every tally by name, times since ``run_start``;
        None when nothing was tallied (the locustfile tallies no outcomes)."""
        if not self._all and not self.overflow:
            return None
        return OutcomesMeta(
            tallies=tuple(
                OutcomeTally(
                    name=name,
                    count=c.count,
                    units=c.units,
                    first_s=round(c.first_at - run_start, 3),
                    last_s=round(c.last_at - run_start, 3),
                )
                for name, c in sorted(self._all.items())
            ),
            overflow=self.overflow,
        )
