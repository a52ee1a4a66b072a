"""Run-to-run comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.analysis.compare import compare_runs
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import (
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
