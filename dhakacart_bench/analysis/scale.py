"""The scale of a run: the load it saw against the load its scenario is written for.

A scenario is written at its reference size (``[load] reference_users``: 100,000
shoppers for the flash sale) and usually run smaller (``default_users``, or ``--users
N``). A verdict states its scale — "PASS at 500 of the 100,000 shoppers the scenario is
written for (0.5 %)" — and "ready for the sale?" is answered yes only with evidence at
full size. Closed model: the peak users measured against the reference users. Open
model: the peak arrival rate planned against the rate as written (pool and rate scale
together); arrivals the pool dropped are load that never ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.runfolder.meta import RunMeta

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run

#: A run at this share of its reference size or more is a full-size run (a closed run's
#: measured peak may fall a few users short of the plan while the last ones spawn).
FULL_SIZE_FRACTION = 0.99
#: An open-model run that dropped more than this share of its arrivals did not run them.
MAX_DROPPED_FRACTION = 0.01


def fmt_rate(rate: float) -> str:
    """``12,346``, ``100``, ``0.5``: an arrival rate as people write it."""
    return f"{rate:,.0f}" if rate >= 1000 else f"{rate:.4g}"


def fmt_share(fraction: float) -> str:
    """``0.005`` → ``0.5 %``; ``1.0`` → ``100 %``; ``0.00012`` → ``0.012 %``."""
    pct = fraction * 100
    if pct >= 10:
        text = f"{pct:.0f}"
    elif pct >= 1:
        text = f"{pct:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{pct:.2g}"
    return f"{text} %"


@dataclass(frozen=True)
class Scale:
    """How big the run was against its scenario's reference size."""

    model: str  # "closed" | "open"
    #: closed: the peak users measured; open: the pool's peak of running users
    users: int
    #: the users (closed) or pool (open) the scenario is written for
    reference_users: int
    #: open: the peak arrival rate this run planned, and the rate as written (per second)
    arrival_rate: float | None = None
    reference_arrival_rate: float | None = None
    #: open: arrivals the pool could not start, as a share of those planned
    dropped_fraction: float = 0.0
    scenario: str = ""

    @property
    def fraction(self) -> float | None:
        """The run's load as a share of the reference load (None: unknown)."""
        if self.model == "open":
            if self.arrival_rate is None or not self.reference_arrival_rate:
                return None
            return self.arrival_rate / self.reference_arrival_rate
        if self.reference_users <= 0:
            return None
        return self.users / self.reference_users

    @property
    def full_size(self) -> bool:
        """The run carried the load the scenario is written for (and, open, ran it)."""
        fraction = self.fraction
        if fraction is None or fraction < FULL_SIZE_FRACTION:
            return False
        return self.model != "open" or self.dropped_fraction <= MAX_DROPPED_FRACTION

    @property
    def load_words(self) -> str:
        """``500 shoppers`` or ``120 arrivals/s``: the load this run carried."""
        if self.model == "open" and self.arrival_rate is not None:
            return f"{fmt_rate(self.arrival_rate)} arrivals/s"
        return f"{self.users:,} shoppers"

    @property
    def reference_words(self) -> str:
        """``100,000 shoppers`` or ``200 arrivals/s``: the load the scenario is written for."""
        if self.model == "open" and self.reference_arrival_rate is not None:
            return f"{fmt_rate(self.reference_arrival_rate)} arrivals/s"
        return f"{self.reference_users:,} shoppers"

    @property
    def words(self) -> str:
        """``500 of the 100,000 shoppers the scenario is written for (0.5 %)``."""
        fraction = self.fraction
        if fraction is None:
            return f"{self.load_words} (the scenario states no reference size)"
        if self.model == "open" and self.arrival_rate is not None:
            ref = self.reference_arrival_rate or 0.0
            text = (
                f"{fmt_rate(self.arrival_rate)} of the {fmt_rate(ref)} arrivals/s the scenario is"
                f" written for ({fmt_share(fraction)})"
            )
            if self.dropped_fraction > MAX_DROPPED_FRACTION:
                text += f", {fmt_share(self.dropped_fraction)} of them dropped"
            return text
        if self.full_size:
            return f"the full {self.reference_users:,} shoppers the scenario is written for"
        return (
            f"{self.users:,} of the {self.reference_users:,} shoppers the scenario is written"
            f" for ({fmt_share(fraction)})"
        )

    @property
    def full_size_command(self) -> str:
        """The command that would run the scenario at full size."""
        name = self.scenario or "SCENARIO"
        return f"bench run {name} --users {self.reference_users:,}".replace(",", "")


def scale_of(run: Run | RunMeta) -> Scale:
    """The scale of a run (from run.json's users, scenario and arrivals)."""
    meta = run if isinstance(run, RunMeta) else run.meta
    load = meta.scenario.load
    reference = meta.users.reference_peak or load.reference_users
    name = meta.scenario_name or meta.scenario.name
    if meta.workload_model != "open":
        return Scale("closed", meta.users.peak, reference, scenario=name)
    rate = load.peak_arrival_rate
    scale = meta.scenario.scale or 1.0
    arrivals = meta.arrivals
    dropped = arrivals.dropped / arrivals.planned if arrivals and arrivals.planned else 0.0
    return Scale(
        "open",
        meta.users.peak,
        reference,
        arrival_rate=rate,
        reference_arrival_rate=None if rate is None else rate / scale,
        dropped_fraction=dropped,
        scenario=name,
    )
