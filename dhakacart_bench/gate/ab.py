"""The paired A/B gate: candidate and baseline loaded at the same time, judged per look.

:func:`judge_look` is the whole decision at one look, a pure function of both arms'
cells so far (:mod:`dhakacart_bench.gate.ab_cells`) and the plan
(:class:`~dhakacart_bench.stats.sequential.LookPlan`):

- the first ``warmup_s`` seconds are not judged (users ramp; each arm's target warms up
  on its own schedule, so a difference there is not the builds');
- **INVALID** (exit 3) when an arm answered nothing or failed every request — naming it;
- too early (fewer than ``min_s`` seconds or ``min_requests`` per arm): keep going;
- per gate endpoint, a **p95 rule** (ratio candidate / baseline, paired bootstrap
  interval, FAIL wholly above ``1 + margin``, PASS wholly below) and an **error-rate
  rule** (difference candidate - baseline, FAIL wholly above ``error_margin``);
- the look **FAILs** as soon as one rule fails, **PASSes** when every rule passes, and
  otherwise keeps going; at the last look an unresolved rule passes as *not significant*.

Other processes on the machine are not a reason to doubt an A/B run — both arms share
them — so the host's noisy-neighbour check is not a rule here; a saturated generator is
(it delays both arms' requests by its own lag, which does not cancel in a ratio of
small latencies). :func:`ab_gate_result` turns the last look into a
:class:`~dhakacart_bench.gate.result.GateResult`, so the JUnit and Markdown writers are
the baseline gate's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dhakacart_bench.gate.ab_cells import ArmCells
from dhakacart_bench.gate.result import GateResult, RuleResult
from dhakacart_bench.humanize import fmt_ms, pct_change
from dhakacart_bench.runfolder.ab import BASELINE, CANDIDATE
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.bootstrap import RegressionStats
from dhakacart_bench.stats.paired import (
    DEFAULT_PAIRED_SEED,
    PAIRED_METHOD,
    PairedStats,
    paired_compare,
)
from dhakacart_bench.stats.sequential import (
    FAIL_LOOK,
    PASS_LOOK,
    LookPlan,
    Resolution,
    classify,
    resolution,
)

INVALID_LOOK = "INVALID"
P95, ERRORS = "p95", "errors"


@dataclass(frozen=True)
class ABRule:
    """One rule at one look."""

    endpoint: str
    kind: str  # P95 | ERRORS
    decision: str | None  # PASS | FAIL | None (undecided or insufficient data)
    stats: PairedStats | None
    why: str = ""  # for insufficient data
    #: an undecided p95 rule at the last look: what its noise could tell apart
    resolution: Resolution | None = None


@dataclass(frozen=True)
class Look:
    t_s: float
    upto_s: int
    decision: str | None  # PASS | FAIL | INVALID | None
    rules: tuple[ABRule, ...] = ()
    problem: str | None = None  # why INVALID, or why still waiting
    final: bool = False
    z: float = 0.0


def _arm_totals(cells: ArmCells) -> tuple[int, int]:
    total = cells.get(TOTAL, {})
    return sum(c.requests for c in total.values()), sum(c.failures for c in total.values())


def after_warmup(cells: ArmCells, warmup_s: float) -> ArmCells:
    """Only the seconds a look judges: those that start at or after ``warmup_s``."""
    return {e: {s: c for s, c in by.items() if s >= warmup_s} for e, by in cells.items()}


def judge_look(
    candidate: ArmCells,
    baseline: ArmCells,
    *,
    t_s: float,
    upto_s: int,
    plan: LookPlan,
    endpoints: Sequence[str],
    margin_pct: float,
    error_margin_pct: float,
    min_endpoint_requests: int,
    final: bool = False,
    resamples: int = 400,
    seed: int = DEFAULT_PAIRED_SEED,
    spread: float = 0.0,
) -> Look:
    """The gate's decision at one look (see the module docstring); ``spread`` is the
    between-instance spread every p95 interval adds (:mod:`dhakacart_bench.stats.spread`)."""
    if plan.warmup_s:
        if final and upto_s < plan.warmup_s:
            return Look(
                t_s,
                upto_s,
                INVALID_LOOK,
                problem=f"the run ended within the gate's {plan.warmup_s:g} s warm-up:"
                " nothing to compare",
            )
        candidate = after_warmup(candidate, plan.warmup_s)
        baseline = after_warmup(baseline, plan.warmup_s)
    totals = {CANDIDATE: _arm_totals(candidate), BASELINE: _arm_totals(baseline)}
    other = {CANDIDATE: BASELINE, BASELINE: CANDIDATE}
    for arm, (requests, failures) in totals.items():
        if requests and failures == requests and (final or t_s >= plan.min_s):
            return Look(
                t_s,
                upto_s,
                INVALID_LOOK,
                problem=f"the {arm} arm failed every one of its {requests:,} requests",
            )
        if not requests and (final or totals[other[arm]][0] >= plan.min_requests):
            return Look(t_s, upto_s, INVALID_LOOK, problem=f"the {arm} arm answered no request")
    fewest = min(r for r, _ in totals.values())
    if not final and (t_s < plan.min_s or fewest < plan.min_requests):
        return Look(
            t_s,
            upto_s,
            None,
            problem=f"too little data yet: {t_s:.0f} s and {fewest:,} requests in the smaller arm;"
            f" the first look needs {plan.min_s:g} s and {plan.min_requests:,} per arm",
        )
    z = plan.z(2 * len(endpoints), t_s)
    allowed = 1 + margin_pct / 100
    rules: list[ABRule] = []
    for number, endpoint in enumerate(endpoints):
        ours, theirs = candidate.get(endpoint, {}), baseline.get(endpoint, {})
        n_c = sum(c.requests for c in ours.values())
        n_b = sum(c.requests for c in theirs.values())
        stats = None
        if min(n_c, n_b) >= max(1, min_endpoint_requests):
            stats = paired_compare(
                ours, theirs, z=z, resamples=resamples, seed=seed + number, spread=spread
            )
        if stats is None or stats.seconds < 2:
            why = (
                f"{n_c:,} candidate and {n_b:,} baseline requests; the rule needs"
                f" {min_endpoint_requests:,} in each and two shared seconds"
            )
            rules += [
                ABRule(endpoint, P95, None, None, why),
                ABRule(endpoint, ERRORS, None, None, why),
            ]
            continue
        p95_decision = classify(stats.ci_low, stats.ci_high, allowed)
        resolved = None
        if final and p95_decision is None:
            resolved = resolution(
                stats.ratio,
                stats.se_within,
                spread=stats.spread,
                allowed=allowed,
                judged_s=stats.seconds,
                plan=plan,
                rules=2 * len(endpoints),
            )
        rules.append(ABRule(endpoint, P95, p95_decision, stats, resolution=resolved))
        rules.append(
            ABRule(
                endpoint,
                ERRORS,
                classify(stats.error_low, stats.error_high, error_margin_pct / 100),
                stats,
            )
        )
    if any(r.decision == FAIL_LOOK for r in rules):
        decision: str | None = FAIL_LOOK
    elif rules and all(r.decision == PASS_LOOK for r in rules):
        decision = PASS_LOOK
    else:
        decision = PASS_LOOK if final else None
    return Look(t_s, upto_s, decision, tuple(rules), final=final, z=z)


def p95_line(stats: PairedStats, t_s: float, outcome: str) -> str:
    """``candidate p95 8.1 ms vs baseline 6.4 ms: +27.0% (99.8% interval +19.0% … +35.0%)
    after 22 s: FAIL``."""
    spread = f" with {stats.spread:.1%} between instances" if stats.spread else ""
    return (
        f"candidate p95 {fmt_ms(stats.candidate_ms)} vs baseline {fmt_ms(stats.baseline_ms)}:"
        f" {pct_change(stats.ratio)} ({_conf(stats)} interval {pct_change(stats.ci_low)} …"
        f" {pct_change(stats.ci_high)}{spread}) after {t_s:.0f} s: {outcome}"
    )


def resolution_line(resolved: Resolution, margin_pct: float) -> str:
    """``this run's noise: above +12.6% would have failed, below -2.1% passed; ~170 s would
    tell this change from the +5% margin (--max-duration 170s)``."""
    line = (
        f"this run's noise: above {pct_change(resolved.fail_above)} would have failed,"
        f" below {pct_change(resolved.pass_below)} passed"
    )
    if resolved.spread_bound:
        return (
            f"{line}; the spread between instances alone is wider than this change's"
            f" distance from the +{margin_pct:g}% margin: no run length tells them apart"
            " (docs/gate.md)"
        )
    if resolved.seconds_needed is None:
        return (
            f"{line}; this change is too close to the +{margin_pct:g}% margin to tell apart"
            f" within {resolved.longest_s:,.0f} s of this load"
        )
    needed = math.ceil(resolved.seconds_needed / 10) * 10
    return (
        f"{line}; ~{needed} s of this load would tell this change from the"
        f" +{margin_pct:g}% margin (--max-duration {needed}s)"
    )


def errors_line(stats: PairedStats, t_s: float, outcome: str) -> str:
    def pp(x: float) -> str:
        return f"{x * 100:+.2f} pp"

    return (
        f"candidate errors {stats.error_rate_candidate:.2%} vs baseline"
        f" {stats.error_rate_baseline:.2%}: {pp(stats.error_diff)} ({_conf(stats)} interval"
        f" {pp(stats.error_low)} … {pp(stats.error_high)}) after {t_s:.0f} s: {outcome}"
    )


def _conf(stats: PairedStats) -> str:
    conf = stats.confidence * 100
    return f"{conf:.1f}%" if conf < 99.95 else f"{conf:.2f}%"


def _outcome(rule: ABRule, final: bool) -> tuple[bool | None, str, str]:
    """(passed, decision word, outcome word) of a rule at the last look."""
    if rule.stats is None:
        return None, "insufficient data", "SKIPPED"
    if rule.decision == FAIL_LOOK:
        return False, "regression", "FAIL"
    if rule.decision == PASS_LOOK:
        return True, "within margin", "PASS"
    return True, "not significant", "PASS (not significant)" if final else "undecided"


def _regression_stats(stats: PairedStats) -> RegressionStats:
    return RegressionStats(
        method=PAIRED_METHOD,
        percentile=stats.percentile,
        baseline_ms=stats.baseline_ms,
        run_ms=stats.candidate_ms,
        ratio=stats.ratio,
        ci_low=stats.ci_low,
        ci_high=stats.ci_high,
        confidence=stats.confidence,
        noise_pct=(stats.ci_high - stats.ci_low) / 2 * 100,
        resamples=stats.resamples,
        seed=stats.seed,
        blocks_baseline=stats.seconds // max(1, stats.block_s),
        blocks_run=stats.seconds // max(1, stats.block_s),
        block_s_baseline=stats.block_s,
        block_s_run=stats.block_s,
    )


def rule_results(look: Look, *, margin_pct: float, error_margin_pct: float) -> list[RuleResult]:
    """The look's rules as gate rules (validity first)."""
    if look.decision == INVALID_LOOK:
        return [
            RuleResult(
                "both arms answered",
                "validity",
                TOTAL,
                None,
                None,
                False,
                look.problem or "an arm is down",
                "invalid",
            )
        ]
    out = [
        RuleResult(
            "both arms answered",
            "validity",
            TOTAL,
            None,
            None,
            True,
            "both arms answered",
            "valid",
        )
    ]
    for rule in look.rules:
        passed, decision, outcome = _outcome(rule, look.final or look.decision is not None)
        stats = rule.stats
        if rule.kind == P95:
            name, allowed, allowed_text = (
                f"A/B p95 ≤ +{margin_pct:g}%",
                1 + margin_pct / 100,
                f"≤ +{margin_pct:g}%",
            )
        else:
            name = f"A/B error rate ≤ +{error_margin_pct:g} pp"
            allowed, allowed_text = error_margin_pct / 100, f"≤ +{error_margin_pct:g} pp"
        if stats is None:
            out.append(
                RuleResult(
                    name,
                    "regression",
                    rule.endpoint,
                    None,
                    allowed,
                    None,
                    f"insufficient data: {rule.why}",
                    decision,
                    metric=rule.kind,
                    allowed_text=allowed_text,
                )
            )
            continue
        if rule.kind == P95:
            message = p95_line(stats, look.t_s, outcome)
            if rule.resolution is not None:
                message = f"{message}; {resolution_line(rule.resolution, margin_pct)}"
            measured, measured_text = (
                stats.ratio,
                f"{pct_change(stats.ratio)}"
                f" ({pct_change(stats.ci_low)} … {pct_change(stats.ci_high)})",
            )
            regression: RegressionStats | None = _regression_stats(stats)
        else:
            message = errors_line(stats, look.t_s, outcome)
            measured, measured_text = stats.error_diff, f"{stats.error_diff * 100:+.2f} pp"
            regression = None
        out.append(
            RuleResult(
                name,
                "regression",
                rule.endpoint,
                measured,
                allowed,
                passed,
                message,
                decision,
                metric="p95_ms" if rule.kind == P95 else "error_rate",
                measured_text=measured_text,
                allowed_text=allowed_text,
                regression=regression,
            )
        )
    return out


def ab_gate_result(
    look: Look,
    *,
    run_id: str,
    run_path: str,
    scenario: str,
    baseline_url: str,
    margin_pct: float,
    error_margin_pct: float,
    endpoints: Sequence[str],
    extra_rules: Sequence[RuleResult] = (),
    warnings: Sequence[str] = (),
    elapsed_s: float = 0.0,
) -> GateResult:
    """The gate's result from the deciding (or last) look."""
    rules = rule_results(look, margin_pct=margin_pct, error_margin_pct=error_margin_pct)
    return GateResult(
        run_id=run_id,
        run_path=run_path,
        scenario=scenario,
        baseline_id="arm (same time, same users)",
        baseline_source=baseline_url,
        p95_regression_pct=margin_pct,
        endpoints=tuple(endpoints),
        rules=(rules[0], *extra_rules, *rules[1:]),
        warnings=tuple(warnings),
        elapsed_s=elapsed_s,
    )


def first_decisive(looks: Sequence[Look]) -> Look:
    """The look that decided (the first with a decision), else the last."""
    for look in looks:
        if look.decision is not None:
            return look
    return looks[-1]


def looks_summary(looks: Sequence[Look]) -> list[Mapping[str, object]]:
    """Per look, the all-endpoints ratio and interval (for the report's chart)."""
    out: list[Mapping[str, object]] = []
    for look in looks:
        stats = next((r.stats for r in look.rules if r.endpoint == TOTAL and r.kind == P95), None)
        out.append(
            {
                "t_s": look.t_s,
                "decision": look.decision,
                "ratio": None if stats is None else stats.ratio,
                "low": None if stats is None else stats.ci_low,
                "high": None if stats is None else stats.ci_high,
            }
        )
    return out
