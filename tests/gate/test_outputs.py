"""What the gate writes for CI: JUnit XML and the Markdown summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from bs4 import BeautifulSoup

from dhakacart_bench.gate.junit import write_junit
from dhakacart_bench.gate.result import GateResult
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.gate.summary import render_markdown
from dhakacart_bench.report.render import template_environment
from dhakacart_bench.report.sections import gate_context
from tests.gate.runs import GATE, A, C, run_of


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


def test_the_html_partial(tmp_path: Path, failing: GateResult) -> None:
    context = gate_context(failing)
    json.dumps(context)  # a plain dict
    html = template_environment().get_template("_gate.html").render(gate=context)
    soup = BeautifulSoup(html, "html.parser")
    section = soup.find("section", id="gate")
    assert section is not None
    assert "FAIL" in section.find(class_="banner").get_text()
    rows = section.select("table.gate-rules tbody tr")
    assert len(rows) == len(failing.rules)
    assert [r["class"][0] for r in rows].count("failed") == 2
    assert "90% interval" in section.get_text()
    assert soup.find("script") is None


def test_the_html_partial_escapes_and_can_be_absent(tmp_path: Path) -> None:
    evil = "GET /<script>alert(1)</script>"
    run = run_of(tmp_path, seed=2, endpoints={evil: 10.0}, gate={**GATE, "endpoints": [evil]})
    html = (
        template_environment()
        .get_template("_gate.html")
        .render(gate=gate_context(evaluate_gate(run, baseline=None)))
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert template_environment().get_template("_gate.html").render().strip() == ""
    assert template_environment().get_template("_gate.html").render(gate=None).strip() == ""
