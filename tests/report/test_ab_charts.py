"""The A/B report's charts: what they mark, from plain series (no run)."""

from __future__ import annotations

from dhakacart_bench.report.ab_charts import arms_p95_chart

SERIES = {
    "candidate": ([float(s) for s in range(20)], [12.0 + s % 3 for s in range(20)]),
    "baseline": ([float(s) for s in range(20)], [10.0 + s % 2 for s in range(20)]),
}


def test_the_warm_up_is_shaded_and_named_only_when_there_is_one() -> None:
    shaded = arms_p95_chart(SERIES, decided_at_s=15.0, warmup_s=5.0)
    assert "warm-up (not judged)" in shaded
    assert "decided" in shaded and "candidate p95" in shaded and "baseline p95" in shaded
    plain = arms_p95_chart(SERIES, decided_at_s=None)
    assert "warm-up" not in plain and "decided" not in plain
