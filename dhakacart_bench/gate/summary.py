"""The gate's result as a terminal summary and as Markdown (a CI step summary or a
merge-request comment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dhakacart_bench.analysis.verdict import FAIL, PASS
from dhakacart_bench.gate.result import ERROR, FAILED, INVALID, PASSED, SKIPPED
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.bootstrap import METHOD

if TYPE_CHECKING:
    from dhakacart_bench.gate.result import GateResult, RuleResult


_ICON = {PASSED: "✅", FAILED: "❌", SKIPPED: "⏭️", ERROR: "⛔"}
_DECISION_ICON = {PASS: "✅", FAIL: "❌", INVALID: "⛔"}


def decision_text(rule: RuleResult) -> str:
    """``decision: message``, without repeating a decision the message starts with."""
    if rule.message.startswith(rule.decision):
        return rule.message
    return f"{rule.decision}: {rule.message}"


def endpoint_label(endpoint: str) -> str:
    return "all endpoints" if endpoint == TOTAL else endpoint


def render_text(result: GateResult) -> str:
    """The terminal summary: one line per rule, the warnings, the decision."""
    lines = [f"Gate: {result.scenario} run {result.run_id}"]
    if result.baseline_id:
        lines.append(f"  baseline: {result.baseline_id} ({result.baseline_source})")
    for rule in result.rules:
        where = "" if rule.kind == "validity" else f" [{endpoint_label(rule.endpoint)}]"
        lines.append(f"  {rule.status.upper():<8} {rule.name}{where}: {rule.message}")
    lines += [f"  WARNING  {w}" for w in result.warnings]
    if result.scale_line:
        lines.append(f"  {result.scale_line}")
    lines.append(f"Gate: {result.verdict_line}")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Escape text for a Markdown table cell."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", " ")
    )


def render_markdown(result: GateResult) -> str:
    """A Markdown summary for a CI step summary or a merge-request comment."""
    icon = _DECISION_ICON[result.decision]
    out = [f"## {icon} bench gate: {result.decision} — {_md(result.scenario)}", ""]
    source = f"run `{result.run_id}`"
    if result.baseline_id:
        source += f" against baseline `{result.baseline_id}`"
    else:
        source += ", no baseline (regression rules not checked)"
    out += [source + f"; p95 regression margin +{result.p95_regression_pct:g}%.", ""]
    out += [
        "| | rule | endpoint | measured | allowed | decision |",
        "|---|---|---|---|---|---|",
    ]
    for rule in result.rules:
        out.append(
            f"| {_ICON[rule.status]} | {_md(rule.name)} | {_md(endpoint_label(rule.endpoint))}"
            f" | {_md(rule.measured_text)} | {_md(rule.allowed_text)}"
            f" | {_md(decision_text(rule))} |"
        )
    out += ["", f"**Verdict:** {_md(result.verdict_line)}"]
    if result.scale is not None:
        out += ["", f"**Load:** {_md(result.scale.words)}."]
        if result.not_shown:
            out.append(f"**Not shown:** {_md(result.not_shown)}")
        elif result.ready:
            out.append("**Ready for the sale:** yes — every target held at full size.")
    if result.warnings:
        out.append("")
        out += [f"> ⚠️ {_md(w)}" for w in result.warnings]
    methods = {r.regression.method for r in result.rules if r.regression}
    if methods - {METHOD}:
        out += [
            "",
            f"<sub>Regression method: {_md(', '.join(sorted(methods)))}: both arms loaded at"
            " the same time by the same users, the same seconds resampled for both; a rule"
            " fails when the whole interval is above the margin (docs/gate.md).</sub>",
        ]
    elif methods:
        out += [
            "",
            f"<sub>Regression method: {METHOD} (per-block HDR histograms resampled with"
            " replacement, merged exactly); a rule fails only when the lower bound of the"
            " interval is above the margin.</sub>",
        ]
    return "\n".join(out) + "\n"
