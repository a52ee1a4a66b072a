"""Capacity of one run: levels, knees and the plan."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from dhakacart_bench.analysis.capacity import evaluate_capacity, load_levels
from dhakacart_bench.analysis.plan import SOCKET_USERS_PER_WORKER, make_plan
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.hdr import new_histogram
from dhakacart_bench.stats.usl import find_knee
from tests.synthetic import (
    MakeRun,
    ramp_profile,
    write_synthetic_run,
)

LEVELS = [10, 20, 30, 40, 50, 60, 70, 80]


def _steps(tmp_path: Path, **kw):
    """Eight 10-second steps; p95 passes 500 ms from 60 users on."""
    kw.setdefault("latency_model", lambda ep, n: 20.0 if n < 60 else 900.0)
    return load_run(
        write_synthetic_run(
            tmp_path,
            seconds=80,
            users_profile=lambda s: LEVELS[s // 10],
            usl=(5.0, 0.02, 0.0005),
            **kw,
        )
    )


def test_level_p95_merges_window_histograms(tmp_path: Path) -> None:
    run = _steps(tmp_path)
    mode, levels = load_levels(run)
    assert mode == "steps"
    assert [lv.users for lv in levels] == LEVELS
    merged = new_histogram()
    for line in (run.path / "windows.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if 20 <= rec["second"] < 30:
            for enc in rec["endpoints"].values():
                merged.add(HdrHistogram.decode(enc))
    level = levels[2]
    assert level.stats.p95_ms == merged.get_value_at_percentile(95) / 1000
    assert level.requests == merged.get_total_count()
    assert level.rps == pytest.approx(level.requests / 10)


def test_capacity_headline_names_the_knee(tmp_path: Path) -> None:
    cap = evaluate_capacity(_steps(tmp_path))
    assert cap.held is not None and cap.held.users == 50
    assert cap.broke is not None and cap.broke.users == 60
    assert cap.headline.startswith(
        "Held 50 concurrent shoppers with p95 under 500 ms; beyond ~60 p95 rises past 500 ms"
    )
    assert cap.throughput_knee is not None and cap.throughput_knee.users == 30
    assert cap.usl.ok and cap.usl.n_star == pytest.approx(math.sqrt(0.98 / 0.0005), rel=0.1)


def test_capacity_says_when_the_limit_was_not_reached(make_run: MakeRun, tmp_path: Path) -> None:
    cap = evaluate_capacity(load_run(make_run(stepped=True)))
    assert cap.supported and cap.broke is None and cap.throughput_knee is None
    assert "Held every level tested (up to 100 users" in cap.headline
    assert "the limit is higher than this run reached" in cap.headline
    assert not cap.usl.ok and "κ ≈ 0" in cap.usl.reason


def test_capacity_single_level_cannot_locate_a_limit(make_run: MakeRun, tmp_path: Path) -> None:
    cap = evaluate_capacity(load_run(make_run(users_profile=lambda s: 40)))
    assert len(cap.levels) == 1 and not cap.supported
    assert "can't locate a limit" in cap.headline
    assert not cap.usl.ok and "at least 4" in cap.usl.reason


def test_capacity_of_a_ramp_uses_bins(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(
        make_run(seconds=120, users_profile=ramp_profile(1, 240, 120), usl=(5.0, 0.0, 0.0))
    )
    mode, levels = load_levels(run)
    assert mode == "ramp" and len(levels) >= 8
    assert sum(lv.requests for lv in levels) == run.summary.total.count


def test_capacity_fails_from_the_lowest_level(tmp_path: Path) -> None:
    cap = evaluate_capacity(_steps(tmp_path, latency_model=lambda ep, n: 900.0))
    assert cap.held is None and cap.broke is not None and cap.broke.users == 10
    assert cap.headline.startswith("Did not hold even the lowest level tested (10 users)")


def test_a_throughput_plateau_at_flat_latency_is_not_a_knee() -> None:
    """Throughput that stops growing while response times stay put is not saturation."""
    from dhakacart_bench.analysis.capacity import Level, _latency_rose_after
    from dhakacart_bench.stats.hdr import HistStats

    def level(users: float, rps: float, mean_ms: float) -> Level:
        return Level(users, 30, int(rps * 30), 0, rps, 0.0, HistStats(1, mean_ms=mean_ms), True, ())

    users, rps = [100.0, 200.0, 300.0, 400.0], [50.0, 100.0, 102.0, 101.0]
    knee_i = find_knee(users, rps)
    assert knee_i == 1
    flat = [level(u, r, 4.0) for u, r in zip(users, rps, strict=True)]
    rising = [level(u, r, m) for u, r, m in zip(users, rps, [4.0, 4.5, 30.0, 60.0], strict=True)]
    assert _latency_rose_after(flat, knee_i) is False
    assert _latency_rose_after(rising, knee_i) is True


def test_plan_follows_littles_law(tmp_path: Path) -> None:
    run = _steps(tmp_path)
    cap = evaluate_capacity(run)
    plan = make_plan(run, users=100_000, capacity=cap)
    # one throughput figure: the steady hold (the level held longest), not an average
    assert cap.steady is not None
    assert cap.steady.seconds == max(lv.seconds for lv in cap.levels)
    per_user = cap.steady.rps / cap.steady.users
    assert plan.per_user_rps == pytest.approx(per_user)
    assert plan.needed_rps == pytest.approx(100_000 * per_user)
    assert plan.instance_rps == pytest.approx(min(cap.held.rps, cap.throughput_knee.rps))
    assert plan.instances == math.ceil(plan.needed_rps / (plan.instance_rps * 0.8))
    assert plan.workers >= 100_000 // SOCKET_USERS_PER_WORKER
    assert plan.cycle_s == pytest.approx(plan.response_s + plan.think_s)
    text = "\n".join(plan.lines())
    assert "Little's law" in text and "20,000 users per worker" in text


def test_plan_says_capacity_is_a_lower_bound_when_never_saturated(
    make_run: MakeRun, tmp_path: Path
) -> None:
    plan = make_plan(load_run(make_run(stepped=True)), users=5000)
    assert plan.instance_rps_lower_bound
    assert any("LOWER BOUND" in a for a in plan.assumptions)


def test_no_usl_fit_when_the_levels_never_reached_contention(make_run: MakeRun) -> None:
    # throughput bends (a fit would succeed) but latency stays flat and no SLO breaks
    cap = evaluate_capacity(load_run(make_run(stepped=True, usl=(5.0, 0.01, 0.0005))))
    assert cap.throughput_knee is None and cap.broke is None
    assert not cap.usl.ok
    assert "never reached contention" in cap.usl.reason


def test_the_headline_gives_the_steady_holds_req_s_not_a_short_surges(
    make_run: MakeRun,
) -> None:
    """One throughput figure per run: a 4-second surge to 100 users (throughput dipping)
    is the top level, but the headline and the plan use the 40-second hold at 50."""

    def users(second: int) -> int:
        return 50 if second < 40 else 100

    def rate(second: int, n: int) -> float:
        return 400.0 if second < 40 else 120.0  # the surge's bins complete little

    run = load_run(make_run(seconds=44, users_profile=users, rate_at=rate))
    cap = evaluate_capacity(run)
    assert cap.steady is not None and cap.steady.users == 50 and cap.steady.seconds == 40
    top = cap.levels[-1]
    assert top.users == 100 and top is not cap.steady
    assert f"{cap.steady.rps:,.0f} req/s" in cap.headline  # ~400
    assert f"{top.rps:,.0f} req/s" not in cap.headline  # 120
    assert "Held every level tested (up to 100 users) with" in cap.headline
    assert f"steady hold: 50 users at {cap.steady.rps:,.0f} req/s." in cap.headline
    plan = make_plan(run, users=1000, capacity=cap)
    assert plan.per_user_rps == pytest.approx(cap.steady.rps / 50)
    assert plan.instance_rps == pytest.approx(cap.steady.rps)  # no limit: the steady figure
