"""JUnit."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dhakacart_bench.gate.result import GateResult, RuleResult


SUITE_NAME = "bench gate"


def _details(rule: RuleResult) -> str:
    lines = [rule.message, f"endpoint: {rule.endpoint}", f"decision: {rule.decision}"]
    if rule.measured_text != "—":
        lines.append(f"measured: {rule.measured_text}")
    if rule.allowed_text != "—":
        lines.append(f"allowed: {rule.allowed_text}")
    stats = rule.regression
    if stats is not None:
        lines += [
            f"method: {stats.method}, {stats.resamples} resamples, seed {stats.seed}",
            f"p95: baseline {stats.baseline_ms:.3f} ms, run {stats.run_ms:.3f} ms,"
            f" ratio {stats.ratio:.4f}, {stats.interval_text},"
            f" noise ±{stats.noise_pct:.1f}%",
            f"blocks: baseline {stats.blocks_baseline} of {stats.block_s_baseline} s,"
            f" run {stats.blocks_run} of {stats.block_s_run} s",
        ]
        if stats.between_run_pct is not None:
            lines.append(
                f"between-run spread of {stats.baseline_runs} baseline runs:"
                f" ±{stats.between_run_pct:.1f}% (sd of log p95)"
            )
    return "\n".join(lines)


def _scale_properties(result: GateResult) -> list[tuple[str, str]]:
    """The run's scale as JUnit properties (structured, for CI dashboards)."""
    scale = result.scale
    if scale is None:
        return []
    fraction = scale.fraction
    return [
        ("load", scale.words),
        ("load_fraction", "" if fraction is None else f"{fraction:.6g}"),
        ("full_size", "true" if scale.full_size else "false"),
        ("ready_for_full_size", "true" if result.ready else "false"),
    ]


def junit_tree(result: GateResult) -> ET.ElementTree:
    """The JUnit XML document of ``result``."""
    tests = len(result.rules)
    failures = result.count("failed")
    errors = result.count("error")
    skipped = result.count("skipped")
    time_s = f"{result.elapsed_s:.3f}"
    counts = {
        "name": SUITE_NAME,
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": time_s,
    }
    root = ET.Element("testsuites", counts)
    suite = ET.SubElement(
        root,
        "testsuite",
        counts,
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("scenario", result.scenario),
        ("run_id", result.run_id),
        ("baseline", result.baseline_id or ""),
        ("decision", result.decision),
        ("exit_code", str(result.exit_code)),
        ("p95_regression_pct", f"{result.p95_regression_pct:g}"),
        *_scale_properties(result),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for rule in result.rules:
        where = "" if rule.kind == "validity" else f" [{rule.endpoint}]"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"bench.gate.{rule.kind}",
            name=f"{rule.name}{where}",
            time="0",
        )
        status = rule.status
        if status == "failed":
            element = ET.SubElement(case, "failure", message=rule.message, type=rule.kind)
            element.text = _details(rule)
        elif status == "error":
            element = ET.SubElement(case, "error", message=rule.message, type="invalid run")
            element.text = _details(rule)
        elif status == "skipped":
            ET.SubElement(case, "skipped", message=rule.message)
        else:
            ET.SubElement(case, "system-out").text = _details(rule)
    if result.scale_line:
        ET.SubElement(suite, "system-out").text = result.scale_line
    if result.warnings:
        ET.SubElement(suite, "system-err").text = "\n".join(result.warnings)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(result: GateResult, path: Path | str) -> Path:
    """Write ``result`` as JUnit XML to ``path`` (parent folders created); return it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(result).write(target, encoding="utf-8", xml_declaration=True)
    return target
