"""The SLO metrics a scenario can name, their labels, and the default name of an SLO."""

from __future__ import annotations

from dhakacart_bench.humanize import fmt_number

LATENCY_METRICS: tuple[str, ...] = (
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_ms",
)
#: Metrics measured by the reliability sidecars (``[probe]``, ``[[events]]``): see
#: docs/reliability.md. ``availability_pct`` takes a lower bound, the others an upper one.
RELIABILITY_METRICS: tuple[str, ...] = (
    "availability_pct",
    "deploy_failed_requests",
    "recovery_s",
    "longest_gap_s",
)
METRICS: tuple[str, ...] = (
    *LATENCY_METRICS,
    "error_rate",
    "rps",
    "invariants",
    *RELIABILITY_METRICS,
)
ALL_ENDPOINTS = "*"


def default_slo_name(metric: str, endpoint: str, max_: float | None, min_: float | None) -> str:
    """``p95_ms <= 500 on GET /api/products/[id]``, ``invariants hold``."""
    if metric == "invariants":
        return "invariants hold"
    bounds = []
    if min_ is not None:
        bounds.append(f">= {fmt_number(min_)}")
    if max_ is not None:
        bounds.append(f"<= {fmt_number(max_)}")
    if metric in RELIABILITY_METRICS and endpoint == ALL_ENDPOINTS:
        return f"{metric} {' and '.join(bounds)}"
    where = "all endpoints" if endpoint == ALL_ENDPOINTS else endpoint
    return f"{metric} {' and '.join(bounds)} on {where}"


METRIC_LABEL = {
    "p50_ms": "p50",
    "p90_ms": "p90",
    "p95_ms": "p95",
    "p99_ms": "p99",
    "p999_ms": "p99.9",
    "max_ms": "max latency",
    "mean_ms": "mean latency",
    "error_rate": "error rate",
    "rps": "throughput",
    "invariants": "business invariants",
    "availability_pct": "availability",
    "deploy_failed_requests": "failed requests during deploys",
    "recovery_s": "recovery time",
    "longest_gap_s": "longest gap",
}
