"""The gate's outputs state the run's scale, and warn of coordinated omission."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from dhakacart_bench.gate.junit import write_junit
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.gate.summary import render_markdown, render_text
from tests.gate.runs import run_of
from tests.synthetic import stalling_target


def test_the_gate_outputs_state_the_scale(tmp_path: Path) -> None:
    """JUnit, Markdown and the terminal say the load against the scenario's full size."""
    small = evaluate_gate(run_of(tmp_path / "s", seed=2), baseline=None)
    assert small.scale is not None and not small.scale.full_size and small.ready is False
    text = render_markdown(small)
    assert "**Load:** 36 of the 100,000 shoppers the scenario is written for (0.036 %)." in text
    assert "**Not shown:** That the store holds 100,000 shoppers" in text
    assert "Load: 36 of the 100,000 shoppers" in render_text(small)
    suite = ET.parse(write_junit(small, tmp_path / "s.xml")).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["full_size"] == "false" and props["ready_for_full_size"] == "false"
    assert props["load_fraction"] == "0.00036"
    out = suite.find("system-out")
    assert out is not None and "Not shown: That the store holds 100,000" in (out.text or "")

    full = evaluate_gate(run_of(tmp_path / "f", seed=2, reference_users=36), baseline=None)
    assert full.ready is True
    text = render_markdown(full)
    assert "**Load:** the full 36 shoppers the scenario is written for." in text
    assert "**Ready for the sale:** yes" in text
    suite = ET.parse(write_junit(full, tmp_path / "f.xml")).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["full_size"] == "true" and props["ready_for_full_size"] == "true"


def test_the_gate_warns_of_coordinated_omission(tmp_path: Path) -> None:
    run = run_of(tmp_path, seed=2, **stalling_target(70))
    result = evaluate_gate(run, baseline=None)
    assert result.ready is False
    assert any(w.startswith("Coordinated omission") for w in result.warnings)
    assert "> ⚠️ Coordinated omission" in render_markdown(result)
