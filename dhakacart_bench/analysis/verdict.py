"""The verdict: PASS, FAIL or INCONCLUSIVE, with the reasons in plain words.

The rules are in docs/reports.md. The reasons why the run itself cannot be trusted
(interrupted, generator saturated, too few requests, ...) are carried as their own field
(:attr:`Verdict.validity`) so that the gate and the baseline never parse the words.
So are the run's scale against the size its scenario is written for
(:attr:`Verdict.scale`: "ready for the sale?" is answered yes only at full size) and the
stalls of a closed-model run that make its percentiles understate latency
(:attr:`Verdict.omission`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dhakacart_bench.analysis.distortion import failure_stands
from dhakacart_bench.analysis.omission import Omission, coordinated_omission
from dhakacart_bench.analysis.scale import Scale, scale_of
from dhakacart_bench.analysis.slos import evaluate_slos, invariants_state
from dhakacart_bench.scenario.metrics import LATENCY_METRICS

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
    #: The load the run saw against the load its scenario is written for (None: unknown).
    scale: Scale | None = None
    #: A closed-model run's stalls (None: none found, or an open-model run).
    omission: Omission | None = None
    #: The doubts that void only timings (a busy machine, a saturated generator): a
    #: subset of ``validity`` (analysis/distortion.py).
    distorted: tuple[str, ...] = field(default=())
    #: Names of the missed SLOs that stand despite ``distorted`` (errors a busy machine
    #: cannot cause): FAIL, not INCONCLUSIVE.
    standing: tuple[str, ...] = field(default=())

    @property
    def doubts_only_timings(self) -> bool:
        """Every validity doubt is one that voids timings only."""
        return bool(self.validity) and set(self.validity) <= set(self.distorted)

    @property
    def full_size(self) -> bool:
        """The run carried the load its scenario is written for."""
        return self.scale is not None and self.scale.full_size

    @property
    def latency_understated(self) -> bool:
        """A closed-model run whose stalls make its percentiles understate latency."""
        return self.omission is not None and self.omission.understated

    @property
    def ready(self) -> bool:
        """ "Ready for the sale?" answered yes: PASS, at full size, latency not understated."""
        return self.status == PASS and self.full_size and not self.latency_understated

    @property
    def scale_line(self) -> str:
        """``PASS at 500 of the 100,000 shoppers the scenario is written for (0.5 %)``."""
        if self.scale is None:
            return self.status
        return f"{self.status} at {self.scale.words}"

    @property
    def headline(self) -> str:
        """One sentence answering "are we ready for the sale?"."""
        if self.status == PASS and self.ready:
            if not self.slos:
                return "Yes, as far as it goes — no targets were set to judge this run."
            size = f"with {self.scale.reference_words}, " if self.scale is not None else "at "
            return f"Yes — every target held {size}the full size the scenario is written for."
        if self.status == PASS and self.latency_understated:
            return (
                "Not shown — every target held, but the target stalled and this closed-model"
                " run's latencies hide it."
            )
        if self.status == PASS and self.scale is not None and not self.slos:
            return (
                "Not shown — no targets were set to judge this run, and it ran only"
                f" {self.scale.load_words}."
            )
        if self.status == PASS and self.scale is not None:
            return f"Not shown yet — every target held, but only at {self.scale.load_words}."
        if self.status == PASS:
            return "Yes — every target held in this run."
        if self.status == FAIL:
            return "No — at least one target was missed."
        return "Can't tell from this run."

    @property
    def shown(self) -> str | None:
        """What this run shows, in one sentence (with its scale); None when it shows
        nothing (INCONCLUSIVE) or its scale is unknown."""
        if self.scale is None:
            return None
        size = self.scale.words
        if self.status == PASS:
            held = "Every target held" if self.slos else "The run completed (no targets set)"
            return f"{held} with {size}."
        if self.status == FAIL:
            return f"At least one target was missed with {size}."
        return None

    @property
    def not_shown(self) -> str | None:
        """What this run does not show and how to show it; None when nothing is missing."""
        scale = self.scale
        if self.status != PASS or scale is None:
            return None
        missing = []
        if self.latency_understated:
            missing.append(
                "What arriving shoppers would wait during the stalls: a closed-model run"
                " hides it — run the scenario in the open model."
            )
        if not scale.full_size:
            missing.append(
                f"That the store holds {scale.reference_words}: run at full size"
                f" ({scale.full_size_command}, with --workers to spread the load), or"
                " measure one instance's limit (`bench capacity`) and check a fleet"
                " against it (`bench plan CAPACITY_DIR --instances N`)."
            )
        return " ".join(missing) or None


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
    distort = []  # doubts that make only timings untrustworthy (analysis/distortion.py)
    if meta.generator.saturated:
        distort.append(
            "The load generator was saturated ("
            + (meta.generator.reason or "CPU or event-loop lag too high")
            + "): its latencies measure the load generator, not the store."
        )
    if meta.machine.busy:
        distort.append(f"The machine was busy with other work: {meta.machine.reason}.")
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
    incomplete = run.problems()
    if incomplete:
        doubts.append(
            "The data are incomplete — skipped as unreadable: " + "; ".join(incomplete) + "."
        )
    doubts = [*doubts, *distrust, *distort]
    standing = [r for r in failed if failure_stands(run, r)] if distort else failed
    if distort and standing:  # FAIL on what the busy machine cannot have caused
        failed = standing + [r for r in failed if r not in standing]
    slo_reasons = [
        f"{r.name}: {r.reason}." if r in standing else f"(Not trusted) {r.name}: {r.reason}."
        for r in failed
    ]
    beyond = []  # why a latency failure stands on a distorted run (not a doubt)
    if distort and any(r.metric in LATENCY_METRICS for r in standing):
        lag = meta.generator.lag_ms_max
        beyond.append(
            f"The latency target was missed by more than the load generator's worst"
            f" event-loop stall ({lag:,.0f} ms) can have added: that miss is the target's."
        )
    validity = tuple(doubts)
    # the scale and the stalls are facts about the evidence, carried as fields
    omission = coordinated_omission(run)
    hidden = (omission.words,) if omission is not None and omission.understated else ()
    scale = scale_of(run)
    if inv_ok is False:
        reasons = (f"Business invariants {inv_words}.", *slo_reasons, *doubts, *hidden)
        return Verdict(FAIL, reasons, results, validity, scale=scale, omission=omission)
    kept = tuple(r.name for r in standing)
    if standing and not distrust:
        return Verdict(
            FAIL,
            (*slo_reasons, *beyond, *doubts, *hidden),
            results,
            validity,
            scale=scale,
            omission=omission,
            distorted=tuple(distort),
            standing=kept,
        )
    if doubts or unchecked:
        unsure = [f"{r.name}: could not be checked — {r.reason}." for r in unchecked]
        if failed:
            unsure += [
                s if s.startswith("(Not trusted)") else f"(Not trusted) {s}" for s in slo_reasons
            ]
        reasons = (*doubts, *unsure, *notes, *hidden)
        return Verdict(
            INCONCLUSIVE,
            reasons,
            results,
            validity,
            scale=scale,
            omission=omission,
            distorted=tuple(distort),
        )
    held = f"All {len(results)} SLOs held" if results else "No SLOs were set; the run completed"
    return Verdict(
        PASS,
        (f"{held} over {total:,} requests.", *hidden, *notes),
        results,
        scale=scale,
        omission=omission,
    )
