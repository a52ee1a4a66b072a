"""The capacity search's decisions, driven against simulated targets of known capacity:
every level result is injected, so these tests need no load and no clock."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from dhakacart_bench.analysis.capacity_result import capacity_exit_code, summarise
from dhakacart_bench.analysis.capacity_search import (
    NextLevel,
    SearchEnd,
    SearchPlan,
    bracket,
    hold_seconds,
    next_level,
    pool_size,
)
from dhakacart_bench.runfolder.capacity import CapacityLevel, CapacityMeta, LevelEndpoint

PLAN = SearchPlan(start_rate=10, step_factor=2, resolution=0.05, level_min_s=8)


def level(
    index: int,
    step: NextLevel,
    *,
    held: bool,
    rpa: float = 2.0,
    kind: str | None = None,
    mean_ms: float = 10.0,
    saturated: bool = False,
    broken: tuple[str, ...] = (),
) -> CapacityLevel:
    completed = step.rate * rpa
    return CapacityLevel(
        index=index,
        rate=step.rate,
        purpose=step.purpose,
        pool=step.pool,
        seconds=step.hold_s,
        requests=int(completed * step.hold_s),
        offered_rps=completed,
        completed_rps=completed,
        mean_ms=mean_ms,
        p95_ms=mean_ms * 2,
        p99_ms=mean_ms * 3,
        endpoints={
            "GET /api/products": LevelEndpoint(requests=100, p95_ms=mean_ms * 2),
            "POST /api/checkout": LevelEndpoint(requests=100, p95_ms=mean_ms * (2 if held else 40)),
        },
        generator_cpu_pct=20.0,
        generator_cpu_ms_per_request=0.5,
        generator_saturated=saturated,
        held=held,
        broken=broken or (() if held else ("POST /api/checkout p95 rises past 1 s (2.4 s)",)),
        break_kind=None if held else (kind or "slo"),
    )


def _summary(levels: list[CapacityLevel], status: str, **kw: object) -> CapacityMeta:
    options: dict[str, object] = dict(
        plan=PLAN,
        scenario_name="t",
        started_at="now",
        host="h",
        target="external",
        shares_machine=False,
    )
    options.update(kw)
    return summarise(levels, status=status, **options)  # type: ignore[arg-type]


def search(
    holds: Callable[[NextLevel, list[CapacityLevel]], bool | str],
    plan: SearchPlan = PLAN,
    limit: int = 60,
) -> tuple[list[CapacityLevel], SearchEnd]:
    levels: list[CapacityLevel] = []
    for index in range(1, limit + 1):
        step = next_level(plan, levels)
        if isinstance(step, SearchEnd):
            return levels, step
        verdict = holds(step, levels)
        if verdict == "saturated":
            levels.append(level(index, step, held=False, kind="generator", saturated=True))
        elif verdict == "pool":
            levels.append(level(index, step, held=False, kind="pool"))
        elif verdict == "errors":
            errors = ("errors reach 7.5 % (SLO 1 %)",)
            levels.append(level(index, step, held=False, kind="errors", broken=errors))
        else:
            levels.append(level(index, step, held=bool(verdict)))
    raise AssertionError("the search did not end")


@pytest.mark.parametrize("capacity_rate", [13.0, 37.0, 123.0, 1000.0])
def test_finds_a_known_limit_within_the_resolution_never_above_it(capacity_rate: float) -> None:
    levels, end = search(lambda step, _: step.rate <= capacity_rate)
    assert end.status == "found"
    lo, hi = bracket(levels, PLAN)
    assert lo is not None and hi is not None
    assert lo <= capacity_rate < hi
    assert hi / lo <= 1 + PLAN.resolution
    rates = [lv.rate for lv in levels]
    assert rates.count(lo) >= 2 and rates.count(hi) >= 2  # both boundaries confirmed
    # geometric step-up first: 10, 20, 40, ...
    steps = [lv.rate for lv in levels if lv.purpose == "step"]
    assert steps == [10 * 2**i for i in range(len(steps))]
    meta = _summary(levels, end.status, shares_machine=True, think_s=0.0)
    # requests per arrival measured as 2 (to the requests' rounding)
    assert meta.sustainable_rps == pytest.approx(lo * 2.0, rel=0.01)
    assert meta.sustainable_rps_interval == (
        pytest.approx(lo * 2, rel=0.01),
        pytest.approx(hi * 2, rel=0.01),
    )
    assert meta.breaking_rps == pytest.approx(hi * 2.0, rel=0.01)
    assert meta.bottleneck_endpoint == "POST /api/checkout"
    assert capacity_exit_code(meta) == 0
    assert "beside the load generator" in meta.headline


def test_a_boundary_that_fails_its_confirmation_moves_the_bracket_down() -> None:
    seen: dict[float, int] = {}

    def flaky(step: NextLevel, _: list[CapacityLevel]) -> bool:
        seen[step.rate] = seen.get(step.rate, 0) + 1
        if 60 < step.rate <= 80:
            return seen[step.rate] == 1  # holds once, breaks on the repeat
        return step.rate <= 80

    levels, end = search(flaky)
    lo, hi = bracket(levels, PLAN)
    assert end.status == "found"
    assert lo is not None and lo <= 60 < hi  # type: ignore[operator]
    assert all(lv.held for lv in levels if lv.rate == lo)


def test_the_generator_saturating_stops_the_search_and_says_add_workers() -> None:
    levels, end = search(lambda step, _: "saturated" if step.rate >= 40 else True)
    assert end.status == "generator"
    assert "add --workers" in end.reason
    meta = _summary(levels, end.status, shares_machine=False, stop_reason=end.reason)
    assert capacity_exit_code(meta) == 3
    assert "add --workers" in meta.headline


def test_when_even_the_first_level_breaks_it_steps_down_then_gives_up() -> None:
    levels, end = search(lambda step, _: False)
    assert [lv.rate for lv in levels] == [10, 5, 2.5]
    assert end.status == "not_held"
    meta = _summary(levels, end.status, shares_machine=False)
    assert meta.sustainable_rps is None
    assert capacity_exit_code(meta) == 1
    assert "did not hold even the lowest level tried (2.50 arrivals/s)" in meta.headline


def test_a_pool_that_ran_dry_is_retried_bigger_and_not_held_against_the_rate() -> None:
    tried_pools: list[tuple[float, int]] = []

    def small_pool(step: NextLevel, _: list[CapacityLevel]) -> bool | str:
        tried_pools.append((step.rate, step.pool))
        if step.rate == 40 and step.pool < 200:
            return "pool"
        return step.rate <= 100

    levels, end = search(small_pool)
    assert end.status == "found"
    at_40 = [pool for rate, pool in tried_pools if rate == 40]
    assert at_40[1:] and all(b >= 2 * a for a, b in itertools.pairwise(at_40))
    lo, _ = bracket(levels, PLAN)
    assert lo is not None and lo > 40


def test_pool_is_sized_by_littles_law_from_the_measured_tail() -> None:
    step = NextLevel(rate=100, purpose="step", pool=50, hold_s=8)
    measured = [level(1, step, held=True, rpa=2.0, mean_ms=10.0)]  # p99 30 ms, 2 requests
    # L = λ·W: 400 arrivals/s x (2 x 30 ms) x headroom 3 = 72, plus 5
    assert pool_size(measured, 400, PLAN) == math.ceil(400 * 0.06 * 3) + 5
    assert pool_size(measured, 400, SearchPlan(max_pool=20)) == 20
    assert pool_size([], 10, PLAN) == math.ceil(10 * 0.1 * 3) + 5


def test_slow_levels_are_held_longer_for_their_requests_up_to_four_times() -> None:
    plan = SearchPlan(level_min_s=5, level_min_requests=300)
    assert hold_seconds([], 100, plan) == 5
    assert hold_seconds([], 30, plan) == 10
    assert hold_seconds([], 1, plan) == 20


def test_the_budget_ending_with_a_bracket_still_reports_it() -> None:
    levels, _ = search(lambda step, _: step.rate <= 50, limit=60)
    partial = levels[:5]  # 10, 20, 40, 80 (bad), bisect
    meta = _summary(partial, "budget", budget_s=60)
    assert meta.sustainable_rps_interval is not None
    assert "budget (1 min) ended" in meta.headline
    assert capacity_exit_code(meta) == 0


def test_errors_past_the_error_slo_stop_the_search_instead_of_bisecting() -> None:
    # latency would hold up to 100 arrivals/s, but from 40 on the target fails requests
    levels, end = search(lambda step, _: "errors" if step.rate >= 40 else step.rate <= 100)
    assert [lv.rate for lv in levels] == [10, 20, 40]  # no bisect, no confirm after 40
    assert end.status == "errors"
    assert "error SLO at 40 arrivals/s" in end.reason and "7.5 %" in end.reason
    meta = _summary(levels, end.status, stop_reason=end.reason, reference_users=100_000)
    assert meta.reference_users == 100_000  # what `bench plan --instances` must cover
    assert meta.sustainable_rps_interval == (
        pytest.approx(20 * 2, rel=0.01),
        pytest.approx(40 * 2, rel=0.01),
    )
    assert meta.breaking_reason == "errors reach 7.5 % (SLO 1 %)"
    assert "Stopped: errors passed the scenario's error SLO" in meta.headline
    assert "bracket reached, not narrowed to 5%" in meta.headline
    assert capacity_exit_code(meta) == 0


def test_errors_at_the_first_level_stop_it_as_not_held() -> None:
    levels, end = search(lambda step, _: "errors")
    assert [lv.rate for lv in levels] == [10]  # no steps down into a failing target
    assert end.status == "errors"
    meta = _summary(levels, end.status, stop_reason=end.reason)
    assert meta.sustainable_rps is None
    assert capacity_exit_code(meta) == 1
    assert "did not hold even the lowest level tried" in meta.headline


def test_a_latency_break_still_bisects() -> None:
    levels, end = search(lambda step, _: step.rate <= 30)
    assert end.status == "found"
    assert any(lv.purpose == "bisect" for lv in levels)
