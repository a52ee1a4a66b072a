"""Availability, error budgets, gaps, deploy windows and recovery on synthetic records."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.meta import ErrorRecord
from dhakacart_bench.stats.availability import (
    MONTH_S,
    Check,
    availability,
    error_budget,
    longest_gap,
)
from dhakacart_bench.stats.recovery import (
    RecoveryBand,
    Second,
    deploy_window,
    merged_p95,
    recovery_points,
    recovery_time,
)


def checks(pattern: str, *, path: str = "/health", interval: float = 0.5) -> list[Check]:
    """One check per character: ``.`` ok, ``x`` failed, sent every ``interval`` from 0."""
    return [
        Check(
            i * interval,
            path,
            ch == ".",
            200 if ch == "." else None,
            "ok" if ch == "." else "refused",
            1.0,
        )
        for i, ch in enumerate(pattern)
    ]


def steady(n: int, *, p95: float = 10.0, requests: int = 100) -> list[Second]:
    return [Second(k, requests, 0, p95) for k in range(n)]


def hist(values_ms: list[float]) -> HdrHistogram:
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in values_ms:
        h.record_value(int(v * 1000))
    return h


def test_availability_per_path_and_overall() -> None:
    data = checks("." * 998 + "xx") + checks("." * 1000, path="/api/products/1")
    result = availability(data)
    assert result["/health"].pct == pytest.approx(99.8)
    assert result["/api/products/1"].pct == 100.0
    assert result["*"].checks == 2000
    assert result["*"].failures == 2
    assert result["*"].pct == pytest.approx(99.9)
    assert availability([])["*"].pct is None


def test_error_budget_of_a_999_objective() -> None:
    budget = error_budget(99.95, 99.9)
    assert budget.allowed == pytest.approx(0.001)
    assert budget.failed == pytest.approx(0.0005)
    assert budget.consumed_pct == pytest.approx(50.0)
    assert budget.downtime_month_s == pytest.approx(0.0005 * MONTH_S)  # 21.6 min
    assert budget.allowed_downtime_month_s == pytest.approx(2592.0)  # 43.2 min
    assert budget.ok
    assert budget.words.startswith("99.95% available; at this rate a month has 22 min of downtime")
    assert "budget 99.9% → OK" in budget.words

    missed = error_budget(99.0, 99.9)
    assert not missed.ok
    assert missed.consumed_pct == pytest.approx(1000.0)
    assert "MISSED" in missed.words
    assert error_budget(100.0, 100.0).consumed_pct == 0.0
    assert math.isinf(error_budget(99.0, 100.0).consumed_pct)


def test_longest_gap_at_probe_resolution() -> None:
    # ok until 1.0, failed at 1.5, 2.0, 2.5, ok again at 3.0 -> 1.5 s without success
    gap = longest_gap(checks("...xxx..x."), interval_s=0.5)
    assert gap.length_s == pytest.approx(1.5)
    assert (gap.start_s, gap.end_s, gap.recovered) == (1.5, 3.0, True)
    assert longest_gap(checks(".........."), interval_s=0.5).length_s == 0.0
    # still failing at the end: until the last check plus one interval
    tail = longest_gap(checks("..xx"), interval_s=0.5)
    assert tail.length_s == pytest.approx(1.0)
    assert not tail.recovered
    # per path: the longest of any path; a window limits the checks looked at
    both = checks(".x.") + checks("..xxx.", path="/api/products/1")
    assert longest_gap(both, interval_s=0.5).path == "/api/products/1"
    assert longest_gap(both, interval_s=0.5, end_s=0.6).length_s == pytest.approx(0.5)


def test_recovery_time_after_a_fault() -> None:
    series = steady(30)
    for k in range(12, 17):  # errors and slowness from 12 to 16 inclusive
        series[k] = Second(k, 100, 40, 500.0)
    rec = recovery_time(series, disrupted_s=12.0, from_s=12.0, end_s=30.0)
    assert rec.recovered
    assert rec.recovery_s == pytest.approx(5.0)  # 17, 18, 19 good -> back at 17
    assert rec.baseline_p95_ms == 10.0
    assert rec.p95_limit_ms == pytest.approx(10.0 * 1.5 + 10.0)
    # from a clear at 15.4: back at 17 -> 1.6 s
    cleared = recovery_time(series, disrupted_s=12.0, from_s=15.4, end_s=30.0)
    assert cleared.recovery_s == pytest.approx(1.6)


def test_recovery_needs_consecutive_good_seconds_and_a_baseline() -> None:
    series = steady(30)
    for k in (12, 13, 15, 18):  # good islands of 1 and 2 seconds do not count
        series[k] = Second(k, 100, 0, 300.0)
    rec = recovery_time(series, disrupted_s=12.0, from_s=12.0, end_s=30.0)
    assert rec.recovery_s == pytest.approx(7.0)  # 19, 20, 21
    # idle seconds are not "good"
    idle = steady(30)
    idle[20] = Second(20, 0, 0, None)
    assert recovery_time(
        idle, disrupted_s=19.0, from_s=19.0, end_s=30.0, band=RecoveryBand(consecutive_s=3)
    ).recovery_s == pytest.approx(2.0)
    # never back: not recovered, the time observed
    broken = steady(10) + [Second(k, 100, 50, 10.0) for k in range(10, 20)]
    never = recovery_time(broken, disrupted_s=10.0, from_s=10.0, end_s=19.5)
    assert not never.recovered
    assert never.recovery_s == pytest.approx(9.5)
    # no baseline (the event came first)
    none = recovery_time(steady(10), disrupted_s=1.0, from_s=1.0, end_s=10.0)
    assert none.recovery_s is None and "no baseline" in none.note
    # a baseline that would overlap an earlier disruption is cut short
    cut = recovery_time(series, disrupted_s=25.0, from_s=25.0, end_s=30.0, not_before_s=24.0)
    assert cut.recovery_s is None


def test_recovery_points_by_action() -> None:
    events: list[dict[str, Any]] = [
        {"action": "kill-worker", "started_s": 10.0},
        {"action": "faults", "started_s": 20.0, "cleared_s": 26.0},
        {"action": "faults", "started_s": 30.0},  # left on: cleared by the next event
        {"action": "clear-faults", "started_s": 35.0},
        {"action": "deploy", "started_s": 40.0, "window": {"start_s": 40.0, "end_s": 43.0}},
        {"action": "kill-worker", "started_s": None},  # never ran
    ]
    points = [(ev["action"], d, f) for ev, d, f in recovery_points(events)]
    assert points == [
        ("kill-worker", 10.0, 10.0),
        ("faults", 20.0, 26.0),
        ("clear-faults", 30.0, 35.0),
        ("deploy", 40.0, 43.0),
    ]


def test_deploy_window_counts_failures_gap_and_p95() -> None:
    seconds = [Second(k, 50, 3 if k in (21, 22) else 0, 10.0) for k in range(40)]
    probe = checks("." * 41 + "xxx" + "." * 36)  # failures at 20.5, 21.0, 21.5
    errors: list[dict[str, Any]] = [
        {
            "endpoint": "GET /a",
            "kind": "connection",
            "status": None,
            "message": "refused",
            "count": 4,
            "first_seen_s": 21.1,
            "last_seen_s": 22.3,
        },
        {
            "endpoint": "GET /b",
            "kind": "http_status",
            "status": 401,
            "message": "HTTP 401",
            "count": 2,
            "first_seen_s": 22.0,
            "last_seen_s": 35.0,
        },
        {
            "endpoint": "GET /c",
            "kind": "timeout",
            "status": None,
            "message": "old",
            "count": 1,
            "first_seen_s": 2.0,
            "last_seen_s": 3.0,
        },
    ]
    windows = [(k, {"GET /a": hist([10.0] * 99 + [20.0])}) for k in range(10, 20)]
    windows += [(k, {"GET /a": hist([100.0] * 100)}) for k in range(20, 23)]
    event = {
        "index": 0,
        "label": "deploy",
        "action": "deploy",
        "ok": True,
        "window": {"start_s": 20.2, "end_s": 22.5},
    }
    w = deploy_window(
        event,
        seconds=seconds,
        checks=probe,
        errors=[ErrorRecord(**e) for e in errors],
        windows=windows,
        interval_s=0.5,
    )
    assert w.locust_failed == 6  # seconds 20..24 (end + 2 s grace)
    assert w.locust_requests == 5 * 50
    assert w.probe_failed == 3
    assert w.probe_by_kind == {"refused": 3}
    assert w.failed_requests == 9
    assert w.longest_gap_s == pytest.approx(1.5)
    kinds = {e["endpoint"]: e["exact"] for e in w.locust_errors}
    assert kinds == {"GET /a": True, "GET /b": False}
    assert w.p95_before_ms == pytest.approx(10.0, rel=1e-3)
    assert w.p95_during_ms == pytest.approx(100.0, rel=1e-3)
    assert merged_p95(windows, 50, 60) is None
