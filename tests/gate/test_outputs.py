"""What the gate writes for CI: JUnit XML and the Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from dhakacart_bench.gate.baseline import load_baseline
from dhakacart_bench.gate.junit import write_junit
from dhakacart_bench.gate.result import GateResult
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.gate.summary import render_markdown
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


def slo(metric: str, **fields: Any) -> dict[str, Any]:
    return {"metric": metric, "endpoint": "*", "max": None, "min": None, "name": metric, **fields}


@pytest.fixture
def failing(tmp_path: Path) -> GateResult:
    gate = {**GATE, "endpoints": ["*", A, "GET /api/gone"]}
    slos = [slo("p95_ms", endpoint=C, max=30.0), slo("error_rate", max=0.5)]
    base = load_baseline(run_of(tmp_path / "a", seed=1, gate=gate, slos=slos).path)
    run = run_of(tmp_path / "b", seed=2, factor={A: 1.3}, gate=gate, slos=slos)
    return evaluate_gate(run, baseline=base)


def test_junit_is_what_ci_systems_read(tmp_path: Path, failing: GateResult) -> None:
    path = write_junit(failing, tmp_path / "out" / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "bench gate"
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases)) == "6"
    assert suite.get("failures") == "2"
    assert suite.get("skipped") == "1"
    assert suite.get("errors") == "0"
    assert float(suite.get("time") or "x") >= 0
    for case in cases:
        assert (case.get("classname") or "").startswith("bench.gate.")
        assert case.get("name")
    by_name = {c.get("name"): c for c in cases}
    slo_case = by_name[f"p95_ms [{C}]"]
    assert slo_case.get("classname") == "bench.gate.slo"
    failure = slo_case.find("failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("measured ")
    assert "> allowed 30 ms" in (failure.get("message") or "")
    regression = by_name[f"p95 regression ≤ +10% [{A}]"].find("failure")
    assert regression is not None
    assert "method: block bootstrap of the p95 ratio" in (regression.text or "")
    assert "90% interval" in (regression.text or "")
    skipped = by_name["p95 regression ≤ +10% [GET /api/gone]"].find("skipped")
    assert skipped is not None and "insufficient data" in (skipped.get("message") or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["decision"] == "FAIL" and props["exit_code"] == "1"


def test_junit_reports_an_invalid_run_as_an_error(tmp_path: Path) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2, saturated=True), baseline=None)
    suite = ET.parse(write_junit(result, tmp_path / "j.xml")).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    [case] = [c for c in suite.iter("testcase") if c.find("error") is not None]
    assert case.get("classname") == "bench.gate.validity"


def test_markdown_summary(failing: GateResult) -> None:
    text = render_markdown(failing)
    assert text.startswith("## ❌ bench gate: FAIL — flash-sale")
    assert "| | rule | endpoint | measured | allowed | decision |" in text
    assert text.count("| ❌ |") == 2 and text.count("| ✅ |") == 3 and text.count("| ⏭️ |") == 1
    assert "90% interval" in text and "regression: measured +" in text
    assert "**Verdict:** FAIL (exit 1): 2 of 5 checked rules failed, 1 skipped." in text
    assert "Regression method: block bootstrap" in text


def test_markdown_escapes_table_breaking_text(tmp_path: Path) -> None:
    weird = "GET /api/a|b"
    gate = {**GATE, "endpoints": [weird]}
    run = run_of(tmp_path, seed=2, endpoints={weird: 10.0}, gate=gate, invariants=None)
    run.meta.versions["python"] = "3.12.0"  # a warning line too
    text = render_markdown(evaluate_gate(run, baseline=None))
    assert "GET /api/a\\|b" in text and "GET /api/a|b" not in text
