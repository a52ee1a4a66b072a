"""The verdict: PASS, FAIL or INCONCLUSIVE, with the reasons in plain words.

The rules are in docs/reports.md. The reasons why the run itself cannot be trusted
(interrupted, generator saturated, too few requests, ...) are carried as their own field
(:attr:`Verdict.validity`) so that the gate and the baseline never parse the words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dhakacart_bench.analysis.slos import evaluate_slos, invariants_state

if TYPE_CHECKING:
    from dhakacart_bench.analysis.slos import SloResult
    from dhakacart_bench.runfolder.reader import Run


PASS = "PASS"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"
#: More users than planned by this factor means the load was not the plan.
OVERSHOOT_FACTOR = 1.05


@dataclass(frozen=True)
class Verdict:
    """PASS / FAIL / INCONCLUSIVE, with the reasons in plain words."""

    status: str
    reasons: tuple[str, ...]
    slos: tuple[SloResult, ...] = field(default=())
    #: Why the run itself cannot be trusted as evidence (interrupted, generator
    #: saturated, too few requests, ...): empty for a valid run. A subset of ``reasons``,
    #: carried as its own field so the gate and the baseline never parse the words.
    validity: tuple[str, ...] = field(default=())

    @property
    def headline(self) -> str:
        """One sentence answering "are we ready for the sale?"."""
        if self.status == PASS and not self.slos:
            return "Yes, as far as it goes — no targets were set to judge this run."
        if self.status == PASS:
            return "Yes — every target held in this run."
        if self.status == FAIL:
            return "No — at least one target was missed."
        return "Can't tell from this run."


def evaluate_verdict(run: Run, slos: Iterable[SloResult] | None = None) -> Verdict:
    """Decide the verdict (rules in docs/reports.md).

    FAIL when business invariants are broken (always), or an SLO failed in a run
    whose numbers can be trusted; INCONCLUSIVE when the run was interrupted or failed,
    the load generator was saturated, too few requests were measured, or an SLO could
    not be checked; PASS otherwise.
    """
    results = tuple(evaluate_slos(run) if slos is None else slos)
    meta = run.meta
    inv_ok, inv_words = invariants_state(meta.invariants)
    failed = [r for r in results if r.passed is False and r.metric != "invariants"]
    unchecked = [r for r in results if r.passed is None]
    doubts = []
    if run.status != "completed":
        why = meta.status_reason or "no reason recorded"
        state = {"failed": "failed", "interrupted": "was interrupted"}.get(
            run.status, f"ended as {run.status!r}"
        )
        doubts.append(f"The run {state} ({why}): it covers only part of the plan.")
    distrust = []  # doubts that make the measured numbers themselves untrustworthy
    if meta.generator.saturated:
        distrust.append(
            "The load generator was saturated ("
            + (meta.generator.reason or "CPU or event-loop lag too high")
            + "): its latencies measure the load generator, not the store."
        )
    if meta.machine.busy:
        distrust.append(f"The machine was busy with other work: {meta.machine.reason}.")
    notes = []
    for loss in meta.workers.lost if meta.workers else ():
        restored = loss.restored_after_s
        what = f"Worker {loss.worker} was lost at {loss.lost_at_s} s ({loss.how})"
        if loss.returned_at_s is not None:
            notes.append(
                f"Worker {loss.worker} missed heartbeats at {loss.lost_at_s} s and came"
                f" back at {loss.returned_at_s} s: an overloaded load generator, not a dead one."
            )
        elif restored is None:
            doubts.append(f"{what} and its load was not restored: part of the plan never ran.")
        else:
            notes.append(f"{what}; its users were back on the other workers {restored} s later.")
    planned, peak = meta.users.requested_peak, meta.users.peak
    if planned and peak > OVERSHOOT_FACTOR * planned:
        distrust.append(
            f"{peak:,} users ran at the peak, more than the {planned:,} planned: on an"
            " overloaded machine workers miss heartbeats, and Locust's master hands their"
            " users to other workers while the slow ones keep running theirs (locust#1158)."
            " This is not the planned load — add machines or lower the load."
        )
    total = run.summary.total.count
    minimum = run.scenario.gate.min_requests
    if total < minimum:
        distrust.append(
            f"Only {total:,} requests were measured; a verdict needs at least {minimum:,}."
        )
    doubts = [*doubts, *distrust]
    slo_reasons = [f"{r.name}: {r.reason}." for r in failed]
    validity = tuple(doubts)
    if inv_ok is False:
        reasons = (f"Business invariants {inv_words}.", *slo_reasons, *doubts)
        return Verdict(FAIL, reasons, results, validity)
    if failed and not distrust:
        return Verdict(FAIL, (*slo_reasons, *doubts), results, validity)
    if doubts or unchecked:
        unsure = [f"{r.name}: could not be checked — {r.reason}." for r in unchecked]
        if failed:
            unsure += [f"(Not trusted) {s}" for s in slo_reasons]
        return Verdict(INCONCLUSIVE, (*doubts, *unsure, *notes), results, validity)
    held = f"All {len(results)} SLOs held" if results else "No SLOs were set; the run completed"
    return Verdict(PASS, (f"{held} over {total:,} requests.", *notes), results)
