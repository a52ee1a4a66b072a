"""The gate's result: every rule, how it came out, and the decision with its exit code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.verdict import FAIL, PASS
from dhakacart_bench.errors import EXIT_FAILED, EXIT_OK, EXIT_RUN_ERROR
from dhakacart_bench.stats.bootstrap import METHOD

if TYPE_CHECKING:
    from dhakacart_bench.analysis.scale import Scale
    from dhakacart_bench.stats.bootstrap import RegressionStats


INVALID = "INVALID"
PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


@dataclass(frozen=True)
class RuleResult:
    """One gate rule and how it came out.

    ``passed`` is True, False, or None when the rule could not be checked
    (skipped: insufficient data, not checked, no baseline). ``measured`` and
    ``allowed`` are in the rule's unit: ms, a fraction, req/s, or for a
    regression the p95 ratio run / baseline.
    """

    name: str
    kind: str  # "validity" | "slo" | "regression"
    endpoint: str
    measured: float | None
    allowed: float | None
    passed: bool | None
    message: str
    decision: str
    """valid / invalid; met / missed / not checked; regression / within margin /
    not significant / insufficient data / no baseline."""
    metric: str = ""
    measured_text: str = "—"
    allowed_text: str = "—"
    regression: RegressionStats | None = None
    #: A missed SLO that a busy machine or saturated generator cannot have caused (an
    #: slo rule), or an invalid run whose doubts void only timings (the validity rule).
    stands: bool = False

    @property
    def status(self) -> str:
        """passed / failed / skipped, or error for an invalid run."""
        if self.passed is None:
            return SKIPPED
        if self.passed:
            return PASSED
        return ERROR if self.kind == "validity" else FAILED


@dataclass(frozen=True)
class GateResult:
    """Every rule of one gate evaluation, and the decision."""

    run_id: str
    run_path: str
    scenario: str
    baseline_id: str | None
    baseline_source: str | None
    p95_regression_pct: float
    endpoints: tuple[str, ...]
    rules: tuple[RuleResult, ...]
    warnings: tuple[str, ...]
    elapsed_s: float
    #: the load the run saw against the load its scenario is written for
    scale: Scale | None = None
    #: the verdict's "ready for the sale?": PASS at full size, latencies not understated
    ready: bool | None = None
    #: what the run does not show (e.g. the full size), in words; None: nothing missing
    not_shown: str | None = None

    @property
    def scale_line(self) -> str | None:
        """``Load: 500 of the 100,000 shoppers the scenario is written for (0.5 %).``"""
        if self.scale is None:
            return None
        line = f"Load: {self.scale.words}."
        if self.not_shown:
            line += f" Not shown: {self.not_shown}"
        return line

    @property
    def valid(self) -> bool:
        """Whether the run is a valid gate input."""
        return all(r.passed is not False for r in self.rules if r.kind == "validity")

    @property
    def invariants_broken(self) -> bool:
        """Business invariants broken: a failure even in an invalid run."""
        return any(r.metric == "invariants" and r.passed is False for r in self.rules)

    @property
    def standing_failure(self) -> bool:
        """An invalid run whose doubts void only timings (busy machine, saturated
        generator), with a missed SLO those cannot cause: a failure all the same."""
        invalid = [r for r in self.rules if r.kind == "validity" and r.passed is False]
        return all(r.stands for r in invalid) and any(
            r.kind == "slo" and r.passed is False and r.stands for r in self.rules
        )

    @property
    def decision(self) -> str:
        """PASS, FAIL or INVALID (the run cannot answer)."""
        if self.invariants_broken:
            return FAIL
        if not self.valid:
            return FAIL if self.standing_failure else INVALID
        if any(r.passed is False for r in self.rules):
            return FAIL
        return PASS

    @property
    def exit_code(self) -> int:
        """0 pass, 1 a rule failed, 3 the run is not a valid gate input."""
        return {PASS: EXIT_OK, FAIL: EXIT_FAILED, INVALID: EXIT_RUN_ERROR}[self.decision]

    def count(self, status: str) -> int:
        """How many rules have ``status`` (passed / failed / skipped / error)."""
        return sum(1 for r in self.rules if r.status == status)

    @property
    def verdict_line(self) -> str:
        """``FAIL (exit 1): 1 of 6 rules failed, 1 skipped.``"""
        failed, skipped, errors = self.count(FAILED), self.count(SKIPPED), self.count(ERROR)
        checked = len(self.rules) - skipped
        if self.decision == INVALID:
            what = "the run is not a valid gate input"
        elif failed:
            what = f"{failed} of {checked} checked rules failed"
        else:
            what = f"all {checked} checked rules passed"
        if errors and self.decision != INVALID:
            what += f", the run is not valid ({errors})"
        if skipped:
            what += f", {skipped} skipped"
        return f"{self.decision} (exit {self.exit_code}): {what}."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of everything, including the decision and exit code."""
        data = dataclasses.asdict(self)
        data["rules"] = [{**dataclasses.asdict(rule), "status": rule.status} for rule in self.rules]
        data.update(
            decision=self.decision,
            exit_code=self.exit_code,
            verdict=self.verdict_line,
            counts={s: self.count(s) for s in (PASSED, FAILED, SKIPPED, ERROR)},
            method=METHOD,
        )
        return data
