"""What a finished run concludes: its verdict, its exit code, its report.

The step after measuring: read the run folder back (exactly what a later ``bench
report`` would read), decide the verdict, record it in run.json, evaluate the gate if
asked, and render ``report.html``. Kept out of the CLI so a caller's own code can do
``conclude(run_scenario(config).run_dir)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dhakacart_bench.analysis.verdict import Verdict, evaluate_verdict
from dhakacart_bench.errors import EXIT_FAILED, EXIT_OK, EXIT_RUN_ERROR
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.report.render import render_report
from dhakacart_bench.report.terminal import verdict_lines
from dhakacart_bench.runfolder.meta import VerdictMeta
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.runfolder.writer import write_run_json

#: Verdict → exit code (DESIGN.md): an inconclusive run is not a valid run.
EXIT_CODE_OF = {"PASS": EXIT_OK, "FAIL": EXIT_FAILED, "INCONCLUSIVE": EXIT_RUN_ERROR}


@dataclass(frozen=True)
class Outcome:
    run_dir: Path
    verdict: str  # PASS | FAIL | INCONCLUSIVE
    reasons: tuple[str, ...]
    exit_code: int
    report: Path | None
    gate: Any = None  # a dhakacart_bench.gate.GateResult when the gate was asked for
    #: the verdict itself: its scale, whether it answers "ready for the sale?" with yes
    judged: Verdict | None = None

    def describe(self) -> str:
        if self.judged is not None:
            lines = verdict_lines(self.judged)
        else:
            lines = [f"Verdict: {self.verdict}"]
            lines += [f"  - {reason}" for reason in self.reasons]
        lines.append(f"Run folder: {self.run_dir}")
        if self.report is not None:
            lines.append(f"Report:     {self.report}")
        return "\n".join(lines)


def conclude(
    run_dir: Path,
    *,
    render: bool = True,
    baseline: Path | None = None,
    gate: bool = False,
    gate_baseline: Any = None,
) -> Outcome:
    """Judge the run in ``run_dir``, record the verdict in run.json, render the report.

    ``baseline`` is a run folder to compare with in the report. With ``gate``, the
    CI gate's rules are evaluated too (against ``gate_baseline``, a loaded
    :class:`~dhakacart_bench.baseline.Baseline`, for the regression rules); the
    report then has a gate section and the exit code is the gate's.
    """

    run = load_run(run_dir)
    verdict = evaluate_verdict(run)
    exit_code = EXIT_CODE_OF[verdict.status]
    scale = verdict.scale
    recorded = VerdictMeta(
        verdict.status,
        verdict.reasons,
        verdict.validity,
        scale_fraction=None if scale is None else scale.fraction,
        full_size=verdict.full_size,
        ready=verdict.ready,
        latency_understated=verdict.latency_understated,
    )
    write_run_json(run.path, run.meta.with_verdict(recorded, exit_code))
    run = load_run(run_dir)
    gate_result = None
    if gate:
        gate_result = evaluate_gate(run, baseline=gate_baseline)
        exit_code = gate_result.exit_code
    report = None
    if render:
        compare_with = load_run(baseline) if baseline is not None and baseline.is_dir() else None
        report = render_report(run, baseline=compare_with, gate=gate_result)
    return Outcome(
        run_dir=run.path,
        verdict=verdict.status,
        reasons=verdict.reasons,
        exit_code=exit_code,
        report=report,
        gate=gate_result,
        judged=verdict,
    )
