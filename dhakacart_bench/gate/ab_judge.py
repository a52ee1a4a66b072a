"""Judging an A/B run: live (the looker the measuring stage calls) and offline (``bench
gate`` on an A/B folder), with the same function, so both say the same thing.

The live looker turns closed windows into cells (:class:`~dhakacart_bench.gate.ab_cells.LiveCells`)
and calls :func:`~dhakacart_bench.gate.ab.judge_look`. Offline, :func:`judge_ab_run`
reads both arms' folders and replays the looks recorded in ab.json at the seconds they
saw (``upto_s``), then — if none decided — a final look over the whole run: the
decision and its time are reproduced from the folder alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dhakacart_bench.gate.ab import INVALID_LOOK, Look, ab_gate_result, first_decisive, judge_look
from dhakacart_bench.gate.ab_cells import LiveCells, cells_of_run, upto
from dhakacart_bench.gate.result import RuleResult
from dhakacart_bench.runfolder.ab import ARMS, BASELINE, CANDIDATE, read_ab_json
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.settings import default
from dhakacart_bench.stats.paired import DEFAULT_PAIRED_SEED
from dhakacart_bench.stats.sequential import LookPlan

if TYPE_CHECKING:
    from dhakacart_bench.gate.result import GateResult
    from dhakacart_bench.runfolder.ab import ABMeta
    from dhakacart_bench.runfolder.meta import RunMeta
    from dhakacart_bench.runfolder.windows import WindowData

DEFAULT_MIN_ENDPOINT_REQUESTS: int = default("min_endpoint_requests")


@dataclass(frozen=True)
class ABRules:
    """What the A/B gate judges, and how."""

    plan: LookPlan
    endpoints: tuple[str, ...] = (TOTAL,)
    margin_pct: float = 10.0
    error_margin_pct: float = 1.0
    min_endpoint_requests: int = DEFAULT_MIN_ENDPOINT_REQUESTS
    resamples: int = 400
    seed: int = DEFAULT_PAIRED_SEED
    #: between-instance spread of log(p95 ratio) each p95 interval adds (stats/spread.py)
    spread: float = 0.0

    def judge(self, cand: dict, base: dict, t_s: float, upto_s: int, final: bool) -> Look:
        return judge_look(
            cand,
            base,
            t_s=t_s,
            upto_s=upto_s,
            plan=self.plan,
            endpoints=self.endpoints,
            margin_pct=self.margin_pct,
            error_margin_pct=self.error_margin_pct,
            min_endpoint_requests=self.min_endpoint_requests,
            final=final,
            resamples=self.resamples,
            seed=self.seed,
            spread=self.spread,
        )


class LiveLooker:
    """The looker :func:`~dhakacart_bench.measure.ab.run_ab` calls every few seconds."""

    def __init__(self, rules: ABRules) -> None:
        self.rules = rules
        self.looks: list[Look] = []
        self._cells: dict[str, LiveCells] = {}
        self._newest: int | None = None

    def __call__(
        self,
        t_s: float,
        upto_s: int,
        candidate: Sequence[WindowData],
        baseline: Sequence[WindowData],
    ) -> str | None:
        # a look may be sent only the windows closed since the last (LookerProcess)
        newest = max((w[-1].epoch_second for w in (candidate, baseline) if w), default=self._newest)
        self._newest = newest
        if newest is None:
            look = Look(t_s, upto_s, None, problem="no request has completed yet")
        else:
            first = newest - upto_s
            for arm in ARMS:
                self._cells.setdefault(arm, LiveCells(first))
            cand = self._cells[CANDIDATE].update(candidate)
            base = self._cells[BASELINE].update(baseline)
            look = self.rules.judge(cand, base, t_s, upto_s, final=False)
        self.looks.append(look)
        return look.decision


@dataclass(frozen=True)
class ABJudgement:
    result: GateResult
    looks: tuple[Look, ...]
    deciding: Look
    meta: ABMeta
    arms: dict[str, RunMeta]
    spread: float = 0.0  # the between-instance spread the p95 intervals carry


def rules_of(meta: ABMeta, **overrides: object) -> ABRules:
    """The rules ab.json recorded (``overrides`` with a None value are ignored)."""
    plan = LookPlan(
        min_s=meta.plan.get("min_s", 10.0),
        every_s=meta.plan.get("every_s", 5.0),
        max_s=meta.plan.get("max_s", meta.duration_s),
        min_requests=int(meta.plan.get("min_requests", 1000)),
        alpha=meta.plan.get("alpha", 0.05),
        warmup_s=meta.plan.get("warmup_s", 0.0),  # folders from before the warm-up: none
        hsd_gamma=meta.plan.get("hsd_gamma"),  # folders from before: Bonferroni over looks
    )
    values = {
        "plan": plan,
        "endpoints": tuple(meta.endpoints) or (TOTAL,),
        "margin_pct": meta.margin_pct,
        "error_margin_pct": meta.error_margin_pct,
        "min_endpoint_requests": int(
            meta.plan.get("min_endpoint_requests", DEFAULT_MIN_ENDPOINT_REQUESTS)
        ),
        "resamples": int(meta.plan.get("resamples", 400)),
        "seed": meta.seed or DEFAULT_PAIRED_SEED,
        "spread": float(meta.plan.get("instance_spread", 0.0)),  # folders from before: none
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ABRules(**values)  # type: ignore[arg-type]


def judge_ab_run(run_dir: Path | str, **overrides: object) -> ABJudgement:
    """Re-judge an A/B run folder from its files (see the module docstring)."""
    started = time.perf_counter()
    meta = read_ab_json(run_dir)
    rules = rules_of(meta, **overrides)
    runs = {arm: load_run(meta.arm_dir(Path(run_dir), arm)) for arm in ARMS}
    cells = {arm: cells_of_run(run) for arm, run in runs.items()}
    looks: list[Look] = []
    for recorded in meta.looks:
        look = rules.judge(
            upto(cells[CANDIDATE], recorded.upto_s),
            upto(cells[BASELINE], recorded.upto_s),
            recorded.t_s,
            recorded.upto_s,
            final=False,
        )
        looks.append(look)
        if look.decision is not None:
            break
    if not looks or looks[-1].decision is None:
        last = max((max(c[TOTAL], default=0) for c in cells.values()), default=0)
        t_end = min(meta.duration_s, rules.plan.max_s)
        looks.append(rules.judge(cells[CANDIDATE], cells[BASELINE], t_end, last, final=True))
    deciding = first_decisive(looks)
    arms = {arm: run.meta for arm, run in runs.items()}
    extra, warnings = _run_rules(arms, deciding)
    result = ab_gate_result(
        deciding,
        run_id=meta.run_id,
        run_path=str(run_dir),
        scenario=meta.scenario_name,
        baseline_url=meta.arms[BASELINE].url,
        margin_pct=rules.margin_pct,
        error_margin_pct=rules.error_margin_pct,
        endpoints=rules.endpoints,
        extra_rules=extra,
        warnings=warnings,
        elapsed_s=round(time.perf_counter() - started, 3),
    )
    return ABJudgement(result, tuple(looks), deciding, meta, arms, rules.spread)


#: Open model: an arm whose share of late or dropped arrivals exceeds the other arm's by
#: more than this was not offered the same load (its users could not keep up).
MAX_BEHIND_SHARE_GAP = 0.01


def arrivals_rule(arms: dict[str, RunMeta]) -> RuleResult | None:
    """Open model: did each arm's users take its arrivals as planned? None when closed.

    Lateness both arms share (the generator's own) is fair to both; an arm *more* behind
    than the other had fewer users free than its arrivals needed, and its latency
    leaves out the time its arrivals waited: not a fair comparison (invalid, exit 3).
    """
    arrivals = {arm: m.arrivals for arm, m in arms.items() if m.arrivals is not None}
    if len(arrivals) < 2:
        return None
    share = {
        arm: (a.late + a.dropped) / a.planned if a.planned else 0.0 for arm, a in arrivals.items()
    }
    behind = [
        f"the {arm} arm: {a.late:,} of {a.planned:,} arrivals started more than"
        f" {a.late_threshold_ms:g} ms late and {a.dropped:,} were dropped"
        for arm, a in arrivals.items()
        if share[arm] - min(v for o, v in share.items() if o != arm) > MAX_BEHIND_SHARE_GAP
    ]
    return RuleResult(
        "both arms kept up with their arrivals",
        "validity",
        TOTAL,
        None,
        None,
        not behind,
        "; ".join(behind) + ": its users could not take them in time, so its latency"
        " leaves out the wait (raise [load] max_users)"
        if behind
        else "both arms took their arrivals alike",
        "invalid" if behind else "valid",
    )


def _run_rules(arms: dict[str, RunMeta], deciding: Look) -> tuple[list[RuleResult], list[str]]:
    """Validity beyond the arms answering: the generator, an interruption, invariants.

    The machine's other processes only earn a warning: both arms shared them.
    """
    meta = arms[CANDIDATE]
    rules = []
    generator = meta.generator
    saturated = bool(generator is not None and generator.saturated)
    rules.append(
        RuleResult(
            "load generator kept up",
            "validity",
            TOTAL,
            None,
            None,
            not saturated,
            (generator.reason or "the load generator was saturated")
            if saturated and generator is not None
            else "the load generator kept up",
            "invalid" if saturated else "valid",
        )
    )
    arrivals = arrivals_rule(arms)
    if arrivals is not None:
        rules.append(arrivals)
    if meta.status == "interrupted" and deciding.decision in (None, INVALID_LOOK):
        rules.append(
            RuleResult(
                "run completed",
                "validity",
                TOTAL,
                None,
                None,
                False,
                meta.status_reason or "interrupted",
                "invalid",
            )
        )
    for arm, arm_meta in arms.items():
        inv = arm_meta.invariants
        if inv is not None and inv.checked:
            rules.append(
                RuleResult(
                    f"{arm} store invariants",
                    "slo",
                    TOTAL,
                    None,
                    None,
                    inv.ok,
                    "no stock oversold, every invariant held"
                    if inv.ok
                    else "; ".join(inv.problems) or "an invariant broke",
                    "met" if inv.ok else "missed",
                    metric="invariants",
                )
            )
    warnings = []
    machine = meta.machine
    if machine is not None and machine.busy:
        warnings.append(
            f"other processes used up to {machine.foreign_cores_max:.1f} cores during the run;"
            " both arms shared them, so the paired comparison stands"
        )
    return rules, warnings
