"""Steady synthetic runs for the gate's tests: three endpoints, 60 requests/s each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dhakacart_bench.gate.result import GateResult, RuleResult
from dhakacart_bench.runfolder.reader import Run, load_run
from tests.synthetic import write_synthetic_run

A, B, C = "GET /api/a", "GET /api/b", "POST /api/c"
ENDPOINTS = {A: 10.0, B: 20.0, C: 40.0}
GATE = {"p95_regression_pct": 10.0, "endpoints": ["*", A], "min_requests": 100}


def run_of(
    tmp_path: Path,
    *,
    seed: int,
    factor: dict[str, float] | None = None,
    **kwargs: Any,
) -> Run:
    """A steady 30-second run (60 requests/s per endpoint); ``factor`` scales latencies."""
    scale = factor or {}
    base_ms: dict[str, float] = kwargs.pop("endpoints", ENDPOINTS)
    options: dict[str, Any] = {
        "seconds": 30,
        "endpoints": base_ms,
        "users_profile": lambda s: 36,
        "latency_model": lambda e, u: base_ms[e] * scale.get(e, 1.0),
        "gate": GATE,
        "seed": seed,
        "name": f"run-{seed}-{sorted(scale.items())}",
    }
    options.update(kwargs)
    return load_run(write_synthetic_run(tmp_path, **options))


def rule(result: GateResult, kind: str, endpoint: str = "*", metric: str = "") -> RuleResult:
    """The one rule of ``kind`` on ``endpoint`` (and ``metric``, when given)."""
    found = [
        r
        for r in result.rules
        if r.kind == kind and r.endpoint == endpoint and (not metric or r.metric == metric)
    ]
    assert len(found) == 1, result.rules
    return found[0]


def slo(metric: str, **fields: Any) -> dict[str, Any]:
    """An SLO's fields, on all endpoints unless ``endpoint=`` says otherwise."""
    return {"metric": metric, "endpoint": "*", "max": None, "min": None, "name": metric, **fields}
