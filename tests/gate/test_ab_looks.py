"""The sequential A/B gate's decision paths, on injected windows (no load)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from dhakacart_bench.gate.ab import (
    INVALID_LOOK,
    P95,
    ab_gate_result,
    judge_look,
    resolution_line,
)
from dhakacart_bench.gate.ab_cells import upto
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.sequential import LookPlan, classify, resolution
from tests.gate.ab_cells_synth import arms

PLAN = LookPlan(min_s=5, every_s=5, max_s=60, min_requests=500, alpha=0.05)
TWO = {"GET /a": 5.0, "GET /b": 8.0}


def look_at(  # type: ignore[no-untyped-def]
    cand,
    base,
    *,
    t_s,
    upto_s,
    plan=PLAN,
    endpoints=(TOTAL,),
    margin=5.0,
    final=False,
    resamples=400,
    spread=0.0,
):
    """One look at these cells: a +``margin`` % p95 margin, 1 pp on errors, 50 requests
    an endpoint at the least, ``spread`` between instances."""
    return judge_look(
        cand,
        base,
        t_s=t_s,
        upto_s=upto_s,
        plan=plan,
        endpoints=list(endpoints),
        margin_pct=margin,
        error_margin_pct=1.0,
        min_endpoint_requests=50,
        final=final,
        resamples=resamples,
        spread=spread,
    )


def run_looks(cand, base, *, plan=PLAN, endpoints=(TOTAL,), margin=5.0, seconds=60, spread=0.0):
    """Look as the live gate does; return every look up to the deciding one."""
    looks = []
    for t in plan.look_times():
        if t > seconds:
            break
        look = look_at(
            upto(cand, int(t) - 1),
            upto(base, int(t) - 1),
            t_s=t,
            upto_s=int(t) - 1,
            plan=plan,
            endpoints=endpoints,
            margin=margin,
            final=t >= plan.max_s,
            resamples=200,
            spread=spread,
        )
        looks.append(look)
        if look.decision is not None:
            break
    return looks


def _gate(look, endpoints=(TOTAL,)):  # type: ignore[no-untyped-def]
    """The gate result of ``look`` at a +5 % p95 margin and a 1 pp error margin."""
    return ab_gate_result(
        look,
        run_id="r",
        run_path="p",
        scenario="s",
        baseline_url="http://b",
        margin_pct=5.0,
        error_margin_pct=1.0,
        endpoints=list(endpoints),
    )


def test_plan_spends_alpha_over_looks_and_rules() -> None:
    assert PLAN.looks == 12
    assert PLAN.look_times()[0] == 5 and PLAN.look_times()[-1] == 60
    assert PLAN.confidence(2) == pytest.approx(1 - 0.05 / 24)  # Bonferroni: no gamma
    assert PLAN.z(2) > PLAN.z(1) > 1.96
    assert classify(1.2, 1.3, 1.05) == "FAIL"
    assert classify(0.9, 1.04, 1.05) == "PASS"
    assert classify(1.0, 1.1, 1.05) is None


def test_early_fail_on_a_clear_regression() -> None:
    cand, base = arms(seconds=60, candidate_factor=1.3, seed=11)
    looks = run_looks(cand, base)
    assert looks[-1].decision == "FAIL"
    assert looks[-1].t_s < 30
    result = _gate(looks[-1])
    assert result.exit_code == 1
    failed = [r for r in result.rules if r.passed is False]
    assert failed and failed[0].message.startswith("candidate p95 ")
    assert "interval" in failed[0].message and failed[0].message.endswith(": FAIL")


def test_early_pass_when_identical_and_narrow() -> None:
    cand, base = arms(seconds=60, per_second=600, seed=12)
    looks = run_looks(cand, base)
    assert looks[-1].decision == "PASS"
    assert not looks[-1].final
    result = _gate(looks[-1])
    assert result.exit_code == 0
    assert all(r.decision in ("valid", "within margin") for r in result.rules)


def test_a_difference_in_the_warm_up_is_not_judged() -> None:
    # the candidate is 30 % slower throughout, but the baseline's own target warmed up
    # slowly (2.5x in its first 5 s): judged from the start, the first look passes a
    # real regression; with the warm-up left out, the gate fails it
    cand, base = arms(seconds=60, candidate_factor=1.3, seed=21)
    slow_start, _ = arms(seconds=5, candidate_factor=2.5, seed=22)
    for name, by_second in slow_start.items():
        base[name].update(by_second)
    plan = LookPlan(min_s=5, every_s=5, max_s=60, min_requests=500, alpha=0.05)
    judged_from_start = run_looks(cand, base, plan=plan)
    assert judged_from_start[0].decision == "PASS"  # the false PASS a warm-up prevents
    warm = LookPlan(min_s=10, every_s=5, max_s=60, min_requests=500, alpha=0.05, warmup_s=5)
    looks = run_looks(cand, base, plan=warm)
    assert looks[-1].decision == "FAIL"
    assert looks[-1].t_s < 30
    (p95,) = [r for r in looks[-1].rules if r.kind == P95]
    assert p95.stats is not None and p95.stats.seconds == int(looks[-1].t_s) - 5
    # a run that ended inside the warm-up has nothing to compare: not a valid gate input
    short = look_at(upto(cand, 3), upto(base, 3), t_s=4, upto_s=3, plan=warm, final=True)
    assert short.decision == INVALID_LOOK and "warm-up" in (short.problem or "")
    with pytest.raises(ValueError, match="warm-up"):
        LookPlan(min_s=10, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=60)


def test_budget_reached_passes_as_not_significant() -> None:
    # +5 % on a 5 % margin with sparse data: never resolved; the last look passes
    cand, base = arms(seconds=60, per_second=60, candidate_factor=1.05, seed=13)
    plan = LookPlan(min_s=5, every_s=5, max_s=20, min_requests=100, alpha=0.05)
    looks = run_looks(cand, base, plan=plan)
    last = looks[-1]
    assert last.final and last.t_s == 20
    assert last.decision == "PASS"
    result = _gate(last)
    assert result.exit_code == 0
    p95 = [r for r in result.rules if r.metric == "p95_ms"]
    assert p95[0].decision == "not significant"
    assert "PASS (not significant)" in p95[0].message


def test_not_significant_says_what_its_noise_resolves_and_how_long_it_would_take() -> None:
    cand, base = arms(seconds=60, per_second=60, candidate_factor=1.05, seed=13)
    plan = LookPlan(min_s=5, every_s=5, max_s=20, min_requests=100, alpha=0.05)
    last = run_looks(cand, base, plan=plan)[-1]
    (p95,) = [r for r in last.rules if r.kind == P95]
    assert p95.decision is None and p95.stats is not None and p95.resolution is not None
    stats, res = p95.stats, p95.resolution
    # the bounds are where this look's interval would have cleared the margin
    assert res.fail_above == pytest.approx(1.05 * math.exp(last.z * stats.se_log))
    assert res.pass_below == pytest.approx(1.05 * math.exp(-last.z * stats.se_log))
    assert res.pass_below < stats.ratio < res.fail_above
    message = next(r for r in _gate(last).rules if r.metric == "p95_ms").message
    assert "this run's noise: above " in message
    # +3 % against +5 % from 20 s of sparse data: beyond ten budgets, not projected
    assert message.endswith("too close to the +5% margin to tell apart within 200 s of this load")
    # decided rules carry no projection; neither do undecided ones before the last look
    early = run_looks(*arms(seconds=60, candidate_factor=1.3, seed=11))[-1]
    assert all(r.resolution is None for r in early.rules)
    not_last = look_at(upto(cand, 9), upto(base, 9), t_s=10, upto_s=9, plan=plan)
    assert all(r.resolution is None for r in not_last.rules)


def test_resolution_projects_the_length_that_resolves_the_estimate() -> None:
    plan = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=5)
    res = resolution(1.10, 0.03, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert res.seconds_needed is not None and res.seconds_needed > 60
    # at the projected length, with se shrinking as 1/sqrt(judged seconds) and z that of
    # the longer plan (more looks), the interval just reaches the margin
    longer = LookPlan(
        min_s=15, every_s=5, max_s=res.seconds_needed, min_requests=1, alpha=0.05, warmup_s=5
    )
    se_then = 0.03 * math.sqrt(55 / (res.seconds_needed - 5))
    assert longer.z(2) * se_then == pytest.approx(math.log(1.10 / 1.05), rel=0.02)
    assert longer.z(2) > plan.z(2)  # the extra looks cost width: the projection counts it
    # symmetric: a change as far below the margin needs as long to PASS
    below = resolution(1.05**2 / 1.10, 0.03, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert below.seconds_needed == pytest.approx(res.seconds_needed, rel=1e-6)
    # on the margin itself no length tells it apart; never less than the plan's budget
    assert (
        resolution(1.05, 0.03, allowed=1.05, judged_s=55, plan=plan, rules=2).seconds_needed is None
    )
    near = resolution(1.50, 0.03, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert near.seconds_needed == plan.max_s


def test_a_change_too_close_to_the_margin_is_not_projected_into_hours() -> None:
    # +6 % on a +5 % margin at this noise would need ~an hour: the projection stops at
    # ten budgets, says so, and does not build plans of thousands of looks to get there
    plan = LookPlan(
        min_s=15, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=5, hsd_gamma=-2
    )
    close = resolution(1.06, 0.022, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert close.seconds_needed is None and close.longest_s == 600
    assert close.pass_below < 1.06 < close.fail_above
    line = resolution_line(close, 5.0)
    assert "too close to the +5% margin to tell apart within 600 s" in line
    # with the spending schedule a projection counts the longer plan's wider last look
    far = resolution(1.08, 0.022, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert far.seconds_needed is not None and 60 < far.seconds_needed < 600
    longer = dataclasses.replace(plan, max_s=far.seconds_needed)
    se_then = 0.022 * math.sqrt(55 / (far.seconds_needed - 5))
    assert longer.z(2) * se_then == pytest.approx(math.log(1.08 / 1.05), rel=0.02)


def test_a_steady_instance_difference_fails_without_the_spread_and_not_with_it() -> None:
    # +9 % in every second, dense: the paired interval alone is narrow and FAILs it on a
    # +5 % margin. Two identical instances can differ that steadily for a whole run, so
    # with a 3 % spread between instances added the same data cannot tell it from +5 %
    cand, base = arms(seconds=60, per_second=600, candidate_factor=1.09, seed=21)
    assert run_looks(cand, base)[-1].decision == "FAIL"
    last = run_looks(cand, base, spread=0.03)[-1]
    assert last.final and last.decision == "PASS"
    (p95,) = [r for r in last.rules if r.kind == P95]
    assert p95.decision is None and p95.stats is not None and p95.resolution is not None
    assert p95.stats.spread == 0.03
    assert p95.stats.se_log == pytest.approx(math.hypot(p95.stats.se_within, 0.03))
    assert p95.stats.ci_low == pytest.approx(p95.stats.ratio * math.exp(-last.z * p95.stats.se_log))
    assert p95.resolution.spread_bound and p95.resolution.seconds_needed is None
    message = next(r for r in _gate(last).rules if r.metric == "p95_ms").message
    assert "with 3.0% between instances) after 60 s" in message
    assert message.endswith("no run length tells them apart (docs/gate.md)")
    # a regression well beyond margin and spread still FAILs at an early look
    big = run_looks(*arms(seconds=60, per_second=600, candidate_factor=1.4, seed=22), spread=0.03)
    assert big[-1].decision == "FAIL" and big[-1].t_s < 30


def test_the_projection_counts_the_spread_that_time_does_not_shrink() -> None:
    plan = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=1, alpha=0.05, warmup_s=5)
    res = resolution(1.15, 0.04, spread=0.02, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert res.seconds_needed is not None and res.seconds_needed > 60
    longer = dataclasses.replace(plan, max_s=res.seconds_needed)
    se_then = math.hypot(0.04 * math.sqrt(55 / (res.seconds_needed - 5)), 0.02)
    assert longer.z(2) * se_then == pytest.approx(math.log(1.15 / 1.05), rel=0.02)
    without = resolution(1.15, 0.04, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert without.seconds_needed is not None and without.seconds_needed < res.seconds_needed
    assert res.fail_above > without.fail_above  # this look's bounds are wider too
    # when z * spread alone spans the distance to the margin, no length is projected
    bound = resolution(1.08, 0.01, spread=0.03, allowed=1.05, judged_s=55, plan=plan, rules=2)
    assert bound.spread_bound and bound.seconds_needed is None
    assert not resolution(1.08, 0.01, allowed=1.05, judged_s=55, plan=plan, rules=2).spread_bound


def test_the_spending_schedule_resolves_at_the_budget_what_bonferroni_leaves_open() -> None:
    # +12 % on a +5 % margin, sparse: with alpha / looks per interval the last look still
    # straddles the margin; spent by the group-sequential schedule (narrower late looks,
    # the same error budget) the same data FAIL there
    cand, base = arms(seconds=60, per_second=100, candidate_factor=1.12, seed=35)
    bonferroni = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=500, alpha=0.05, warmup_s=5)
    spending = dataclasses.replace(bonferroni, hsd_gamma=-2.0)
    loose = run_looks(cand, base, plan=bonferroni)[-1]
    assert loose.final and loose.decision == "PASS"  # not significant
    tight = run_looks(cand, base, plan=spending)[-1]
    assert tight.final and tight.decision == "FAIL"
    assert tight.z < loose.z


def test_too_little_data_keeps_looking() -> None:
    cand, base = arms(seconds=60, per_second=20, seed=14)
    look = look_at(upto(cand, 9), upto(base, 9), t_s=10, upto_s=9)
    assert look.decision is None and "too little data" in (look.problem or "")
    # at the budget, an endpoint with too few requests is skipped, not judged
    final = look_at(
        cand,
        base,
        t_s=60,
        upto_s=59,
        endpoints=[TOTAL, "GET /none"],
        final=True,
    )
    result = _gate(final, endpoints=[TOTAL, "GET /none"])
    skipped = [r for r in result.rules if r.endpoint == "GET /none"]
    assert skipped and all(r.status == "skipped" for r in skipped)


@pytest.mark.parametrize("arm", ["candidate", "baseline"])
def test_one_arm_down_is_invalid_naming_the_arm(arm: str) -> None:
    cand, base = arms(seconds=20, seed=15)
    down = {TOTAL: {}}
    c, b = (down, base) if arm == "candidate" else (cand, down)
    look = look_at(
        c,
        b,
        t_s=10,
        upto_s=9,
    )
    assert look.decision == INVALID_LOOK and arm in (look.problem or "")
    result = _gate(look)
    assert result.exit_code == 3 and arm in result.rules[0].message


def test_an_arm_failing_everything_is_invalid() -> None:
    cand, base = arms(seconds=20, failure_rate=(1.0, 0.0), seed=16)
    look = look_at(
        cand,
        base,
        t_s=10,
        upto_s=9,
    )
    assert look.decision == INVALID_LOOK and "candidate arm failed every" in (look.problem or "")


def test_one_endpoint_regression_caught_by_its_rule() -> None:
    cand, base = arms(seconds=60, endpoints=TWO, factor_on="GET /b", candidate_factor=1.25, seed=17)
    looks = run_looks(cand, base, endpoints=(TOTAL, "GET /a", "GET /b"))
    last = looks[-1]
    assert last.decision == "FAIL"
    failing = {r.endpoint for r in last.rules if r.decision == "FAIL"}
    assert "GET /b" in failing and "GET /a" not in failing


def test_error_rate_regression_fails() -> None:
    cand, base = arms(seconds=60, failure_rate=(0.08, 0.0), seed=18)
    looks = run_looks(cand, base)
    assert looks[-1].decision == "FAIL"
    assert any(r.kind == "errors" and r.decision == "FAIL" for r in looks[-1].rules)
