"""Run-to-run comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.analysis.compare import (
    BETTER,
    NO_CHANGE,
    TOO_FEW,
    WORSE,
    compare_runs,
    min_requests_for,
)
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import (
    DEFAULT_ENDPOINTS,
    MakeRun,
)


def test_compare_ranks_the_biggest_changes(make_run: MakeRun, tmp_path: Path) -> None:
    base = load_run(make_run(name="base"))
    slow = {"GET /api/products": 24.0, "GET /api/products/[id]": 8.4, "POST /api/checkout": 40.0}
    run = load_run(
        make_run(
            name="run",
            latency_model=lambda ep, n: slow[ep],
            error_rate=lambda s, ep, n: 0.03 if ep == "POST /api/checkout" else 0,
        )
    )
    cmp = compare_runs(base, run)
    assert cmp.baseline_id == base.run_id and cmp.run_id == run.run_id
    top = cmp.top_changes
    assert len(top) == 3 and all(c.worse for c in top)
    assert (top[0].endpoint, top[0].metric) == ("POST /api/checkout", "error_rate")
    assert {(c.endpoint, c.metric) for c in top[1:]} <= {
        ("GET /api/products", m) for m in ("p50_ms", "p95_ms", "p99_ms")
    }
    p95 = next(c for c in top[1:] if c.metric != "error_rate")
    assert p95.delta_pct == pytest.approx(100.0, rel=0.05)
    assert "GET /api/products" in p95.text and "→" in p95.text
    row = next(r for r in cmp.rows if r["endpoint"] == "*")
    assert row["changes"]["rps"].delta == pytest.approx(0.0)


def test_two_identical_runs_show_no_change(make_run: MakeRun, tmp_path: Path) -> None:
    """The issue's case: the same scenario twice (only the random draws differ) must not
    come out "worse" or "better" on any endpoint."""
    a = load_run(make_run(name="a", seconds=25, users_profile=lambda s: 20, seed=3))
    b = load_run(make_run(name="b", seconds=25, users_profile=lambda s: 20, seed=4))
    cmp = compare_runs(a, b)
    assert cmp.top_changes == () and cmp.unchanged
    judged = [c for r in cmp.rows for c in r["changes"].values()]
    assert {c.judgement for c in judged} <= {NO_CHANGE, TOO_FEW}
    assert any(c.judgement == NO_CHANGE and c.interval_text for c in judged)


def test_small_samples_say_too_few_requests(make_run: MakeRun, tmp_path: Path) -> None:
    """56 and 68 checkouts (the issue's smoke runs): too few for a p95 or a p99."""
    endpoints = {"GET /api/products": 10.0, "POST /api/checkout": 5.0}
    a = load_run(
        make_run(
            name="a",
            seconds=28,
            endpoints=endpoints,
            users_profile=lambda s: 20,
            usl=(0.2, 0, 0),
            seed=1,
        )
    )
    b = load_run(
        make_run(
            name="b",
            seconds=28,
            endpoints=endpoints,
            users_profile=lambda s: 20,
            usl=(0.2, 0, 0),
            latency_model=lambda ep, n: 7.0 if ep == "POST /api/checkout" else 10.0,
            seed=2,
        )
    )
    row = next(r for r in compare_runs(a, b).rows if r["endpoint"] == "POST /api/checkout")
    assert 50 <= min(row["count"], row["count_baseline"]) < 100
    assert row["changes"]["p95_ms"].judgement == TOO_FEW
    assert row["changes"]["p99_ms"].judgement == TOO_FEW
    assert not row["changes"]["p95_ms"].worse
    assert min_requests_for("p95_ms") == 100 and min_requests_for("p99_ms") == 500


def test_arrows_agree_with_the_words(make_run: MakeRun, tmp_path: Path) -> None:
    """More throughput is better and goes up (▲); more latency is worse and goes up (▲)."""
    a = load_run(make_run(name="a", seconds=30, users_profile=lambda s: 20, seed=1))
    b = load_run(
        make_run(
            name="b",
            seconds=30,
            users_profile=lambda s: 20,
            usl=(8.0, 0.0, 0.0),
            latency_model=lambda ep, n: 2 * DEFAULT_ENDPOINTS[ep],
            seed=2,
        )
    )
    total = next(r for r in compare_runs(a, b).rows if r["endpoint"] == "*")["changes"]
    rps, p95 = total["rps"], total["p95_ms"]
    assert rps.judgement == BETTER and rps.direction == "up" and rps.arrow == "▲"
    assert "up" in rps.text and "interval" in rps.text
    assert p95.judgement == WORSE and p95.arrow == "▲" and p95.worse
    assert p95.low is not None and p95.low > 1  # the interval excludes no change
    faster = compare_runs(b, a)
    p95_back = next(r for r in faster.rows if r["endpoint"] == "*")["changes"]["p95_ms"]
    assert p95_back.judgement == BETTER and p95_back.arrow == "▼" and "down" in p95_back.text
