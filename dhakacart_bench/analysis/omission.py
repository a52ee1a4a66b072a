"""Coordinated omission, said where it happened.

A closed-model run (user count stages) measures a stall once per waiting user: while
the target stalls its users stop sending, so the run's percentiles hide the stall. The
run's own per-second series shows it (:func:`~dhakacart_bench.stats.stalls.find_stalls`:
seconds in which almost nothing completed although the users were there). When the
stalls are long enough to move the p99 that arriving shoppers would see — an estimate
from the stalls, at least twice the p99 the run reported — the verdict says so and
points to the open model, which measures it (docs/reports.md, "Coordinated omission").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.humanize import fmt_ms, plural
from dhakacart_bench.stats.stalls import StallReport, arrival_percentile_ms, find_stalls

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run

#: The arriving shoppers' estimated p99 must be at least this many times the reported one.
UNDERSTATED_FACTOR = 2.0
#: ... and at least this much higher (ms): a stall of a few ms is not worth a word.
UNDERSTATED_MIN_MS = 50.0


@dataclass(frozen=True)
class Omission:
    """The stalls of a closed-model run and what they hide."""

    stalls: StallReport
    #: the run's own p99 (all endpoints), ms
    reported_p99_ms: float | None
    #: the p99 arrivals at a steady rate would have seen, estimated from the stalls, ms
    estimated_p99_ms: float | None

    @property
    def understated(self) -> bool:
        """Whether the stalls hide enough to matter: the estimate is at least
        :data:`UNDERSTATED_FACTOR` * the reported p99 and :data:`UNDERSTATED_MIN_MS` above."""
        est, rep = self.estimated_p99_ms, self.reported_p99_ms
        if est is None or rep is None:
            return False
        return est >= UNDERSTATED_FACTOR * rep and est - rep >= UNDERSTATED_MIN_MS

    @property
    def words(self) -> str:
        """The verdict's sentence about it."""
        report = self.stalls
        longest = report.longest_ms
        users = max((s.users for s in report.stalls), default=0)
        waited = f"; the longest request waited {fmt_ms(longest)}" if longest else ""
        return (
            f"Coordinated omission: in {plural(len(report.stalls), 'stall')}"
            f" ({report.lost_s:.0f} s, {report.fraction:.0%} of the run) almost no request"
            f" completed while up to {users:,} users waited{waited}. In a closed-model run"
            " each user waits for its answer before it sends again, so a stall is measured"
            " once per waiting user, not once per shopper arriving during it: the run's"
            f" percentiles (p99 {fmt_ms(self.reported_p99_ms)}) understate what arriving"
            f" shoppers would see — about {fmt_ms(self.estimated_p99_ms)} at p99, estimated"
            ' from the stalls. Measure it with the open model ([load] model = "open").'
        )


def coordinated_omission(run: Run) -> Omission | None:
    """The stalls of a closed-model run (None: an open-model run, or no time series)."""
    if run.workload_model != "closed":
        return None
    try:
        series = run.timeseries()
    except RunFolderError:
        return None
    if not len(series):
        return None
    completions = [int(v) if v == v else 0 for v in series["requests"]]
    users = [int(v) if v == v else 0 for v in series["users"]]
    longest = [None if math.isnan(v) else float(v) for v in series["max_ms"].astype(float)]
    report = find_stalls(completions, users, longest)
    if not report.stalls:
        return None
    total = run.summary.total
    base = total.p50_ms or 0.0
    return Omission(
        stalls=report,
        reported_p99_ms=total.p99_ms,
        estimated_p99_ms=arrival_percentile_ms(report, 99.0, base_ms=base),
    )
