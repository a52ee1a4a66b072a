"""Fixtures of the gate's tests: a baseline, and a gate result that fails two rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.gate.baseline import Baseline, load_baseline
from dhakacart_bench.gate.result import GateResult
from dhakacart_bench.gate.rules import evaluate_gate
from tests.gate.runs import GATE, A, C, run_of, slo


@pytest.fixture
def baseline(tmp_path: Path) -> Baseline:
    return load_baseline(run_of(tmp_path / "base", seed=1).path)


@pytest.fixture
def failing(tmp_path: Path) -> GateResult:
    gate = {**GATE, "endpoints": ["*", A, "GET /api/gone"]}
    slos = [slo("p95_ms", endpoint=C, max=30.0), slo("error_rate", max=0.5)]
    base = load_baseline(run_of(tmp_path / "a", seed=1, gate=gate, slos=slos).path)
    run = run_of(tmp_path / "b", seed=2, factor={A: 1.3}, gate=gate, slos=slos)
    return evaluate_gate(run, baseline=base)
