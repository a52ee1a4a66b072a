"""The deploy gate: may this build go out? An answer as an exit code, with evidence.

:func:`evaluate_gate` checks one run folder against three kinds of rule:

- **validity** — the run can be trusted at all (completed, load generator not
  saturated, at least ``[gate] min_requests`` requests); the reasons are
  :func:`~dhakacart_bench.analysis.evaluate_verdict`'s own.
- **slo** — every ``[[slo]]`` of the scenario, exactly as
  :func:`~dhakacart_bench.analysis.evaluate_slos` measures it.
- **regression** — the p95 of each gate endpoint may not regress more than
  ``p95_regression_pct`` against a :class:`~dhakacart_bench.baseline.Baseline`,
  *and* the regression must be larger than the run-to-run noise: a block
  bootstrap over both runs' per-second HDR histograms gives a 90% interval of the
  p95 ratio run / baseline, and the rule fails only when the interval's lower
  bound is above ``1 + pct/100`` (docs/gate.md explains the method).

The result (:class:`GateResult`) carries the exit code (0 pass, 1 fail, 3 run not
valid; a bad baseline raises BaselineError, exit 2) and renders as plain text,
Markdown (:func:`render_markdown`), JUnit XML (:func:`write_junit`) and an HTML
partial context (:func:`gate_context`). Nothing here parses options or prints.
numpy is imported inside the functions that need it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis import (
    FAIL,
    PASS,
    SloResult,
    Verdict,
    evaluate_slos,
    evaluate_verdict,
    fmt_ms,
    fmt_value,
    hist_stats,
)
from dhakacart_bench.errors import EXIT_FAILED, EXIT_OK, EXIT_RUN_ERROR
from dhakacart_bench.junit import write_junit
from dhakacart_bench.metrics import TOTAL

if TYPE_CHECKING:
    import numpy as np

    from dhakacart_bench.baseline import Baseline, SparseBlocks
    from dhakacart_bench.runfolder import Run

DEFAULT_P95_REGRESSION_PCT = 10.0
DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.90
DEFAULT_SEED = 20261124
DEFAULT_MIN_ENDPOINT_REQUESTS = 50
"""Fewer requests to an endpoint (in either run) → its regression rule is "insufficient data"."""
DEFAULT_MIN_BLOCKS = 5
"""Fewer blocks (seconds with requests) in either run → "insufficient data"."""
INSUFFICIENT_DATA_POLICIES = ("skip", "fail")
METHOD = "block bootstrap of the p95 ratio"

INVALID = "INVALID"
PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RegressionStats:
    """The statistics behind one regression decision."""

    method: str
    percentile: float
    baseline_ms: float
    run_ms: float
    ratio: float
    """Point estimate: the run's p95 / the baseline's p95 (whole-run histograms)."""
    ci_low: float
    ci_high: float
    confidence: float
    """Two-sided coverage of [ci_low, ci_high] (0.90: the lower bound is one-sided 95%)."""
    noise_pct: float
    """Run-to-run noise: half the interval's width, in percent of the baseline."""
    resamples: int
    seed: int
    blocks_baseline: int
    blocks_run: int
    block_s_baseline: int
    block_s_run: int
    baseline_runs: int = 1
    between_run_pct: float | None = None
    """Spread (sd of log p95, in %) of the baseline's runs; None for a one-run baseline."""

    @property
    def change_pct(self) -> float:
        """The point estimate as a change in percent (``+12.5``)."""
        return (self.ratio - 1) * 100

    @property
    def interval_text(self) -> str:
        """``90% interval +3.1% … +21.0%``."""
        return (
            f"{self.confidence:.0%} interval {pct_change(self.ci_low)} … {pct_change(self.ci_high)}"
        )


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

    @property
    def valid(self) -> bool:
        """Whether the run is a valid gate input."""
        return all(r.passed is not False for r in self.rules if r.kind == "validity")

    @property
    def invariants_broken(self) -> bool:
        """Business invariants broken: a failure even in an invalid run."""
        return any(r.metric == "invariants" and r.passed is False for r in self.rules)

    @property
    def decision(self) -> str:
        """PASS, FAIL or INVALID (the run cannot answer)."""
        if self.invariants_broken:
            return FAIL
        if not self.valid:
            return INVALID
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


def pct_change(ratio: float) -> str:
    """A ratio as a signed change: 1.125 → ``+12.5%``."""
    return f"{(ratio - 1) * 100:+.1f}%"


# --------------------------------------------------------------------------- evaluation


def validity_problems(run: Run, verdict: Verdict) -> list[str]:
    """The reasons (from :func:`evaluate_verdict`) why ``run`` is not a valid gate input.

    These are the verdict's doubts about the run itself — interrupted or failed,
    load generator saturated, fewer than ``[gate] min_requests`` requests — not its
    SLO outcomes.
    """
    if verdict.status == PASS:
        return []
    slo_prefixes = tuple(f"{r.name}:" for r in verdict.slos)
    return [
        reason
        for reason in verdict.reasons
        if not reason.startswith(slo_prefixes)
        and not reason.startswith(("(Not trusted)", "Business invariants"))
    ]


def _validity_rule(run: Run, verdict: Verdict) -> RuleResult:
    problems = validity_problems(run, verdict)
    total = int((run.summary.get("total") or {}).get("count") or 0)
    if problems:
        return RuleResult(
            "run is a valid gate input",
            "validity",
            TOTAL,
            float(total),
            None,
            False,
            " ".join(problems),
            "invalid",
            measured_text=f"{total:,} requests, {run.status}",
        )
    return RuleResult(
        "run is a valid gate input",
        "validity",
        TOTAL,
        float(total),
        None,
        True,
        f"{run.status}, {total:,} requests, load generator not saturated",
        "valid",
        measured_text=f"{total:,} requests, {run.status}",
    )


def _slo_rule(slo: SloResult) -> RuleResult:
    allowed = slo.target_max if slo.target_max is not None else slo.target_min
    if slo.passed is None:
        reason = slo.reason
        message = reason if reason.startswith("not checked") else f"not checked: {reason}"
        decision = "not checked"
    elif slo.passed:
        decision, message = "met", slo.reason
    elif slo.metric == "invariants":
        decision, message = "missed", f"business invariants {slo.measured_text}: {slo.reason}"
    else:
        decision = "missed"
        if (
            slo.target_max is not None
            and slo.measured is not None
            and slo.measured > slo.target_max
        ):
            message = (
                f"measured {fmt_value(slo.metric, slo.measured)}"
                f" > allowed {fmt_value(slo.metric, slo.target_max)}"
            )
        else:
            message = (
                f"measured {fmt_value(slo.metric, slo.measured)}"
                f" < allowed {fmt_value(slo.metric, slo.target_min)}"
            )
    return RuleResult(
        slo.name,
        "slo",
        slo.endpoint,
        slo.measured,
        allowed,
        slo.passed,
        message,
        decision,
        metric=slo.metric,
        measured_text=slo.measured_text,
        allowed_text=slo.target,
    )


def gate_settings(
    run: Run, p95_regression_pct: float | None, endpoints: Sequence[str] | None
) -> tuple[float, tuple[str, ...]]:
    """The regression margin and gate endpoints: the arguments, else the scenario's
    ``[gate]``, else 10% on ``"*"``."""
    gate = (run.meta.get("scenario") or {}).get("gate") or {}
    pct = p95_regression_pct
    if pct is None:
        raw = gate.get("p95_regression_pct")
        pct = DEFAULT_P95_REGRESSION_PCT if raw is None else float(raw)
    chosen = list(endpoints or gate.get("endpoints") or [TOTAL])
    return float(pct), tuple(dict.fromkeys(str(e) for e in chosen))


def evaluate_gate(
    run: Run,
    *,
    baseline: Baseline | None,
    p95_regression_pct: float | None = None,
    endpoints: Sequence[str] | None = None,
    min_endpoint_requests: int = DEFAULT_MIN_ENDPOINT_REQUESTS,
    insufficient_data: str = "skip",
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> GateResult:
    """Evaluate every gate rule of ``run``; see the module docstring.

    ``p95_regression_pct`` and ``endpoints`` override the scenario's ``[gate]``.
    ``insufficient_data`` is ``"skip"`` (the rule is reported, not failed) or
    ``"fail"``. Raises BaselineError when ``baseline`` is of another scenario;
    a different environment becomes a warning.
    """
    if insufficient_data not in INSUFFICIENT_DATA_POLICIES:
        raise ValueError(f"insufficient_data must be one of {INSUFFICIENT_DATA_POLICIES}")
    started = time.perf_counter()
    warnings: list[str] = []
    if baseline is not None:
        warnings += baseline.check_matches(run)
    pct, chosen = gate_settings(run, p95_regression_pct, endpoints)
    slos = evaluate_slos(run)
    verdict = evaluate_verdict(run, slos)
    rules = [_validity_rule(run, verdict), *(_slo_rule(s) for s in slos)]
    if baseline is None:
        rules += [
            RuleResult(
                f"p95 regression ≤ +{pct:g}%",
                "regression",
                endpoint,
                None,
                1 + pct / 100,
                None,
                "no baseline given: the regression rule was not checked",
                "no baseline",
                metric="p95_ms",
                allowed_text=f"≤ +{pct:g}%",
            )
            for endpoint in chosen
        ]
    else:
        rules += _regression_rules(
            run,
            baseline,
            pct,
            chosen,
            min_requests=min_endpoint_requests,
            fail_insufficient=insufficient_data == "fail",
            resamples=resamples,
            confidence=confidence,
            seed=seed,
        )
    return GateResult(
        run_id=run.run_id,
        run_path=str(run.path),
        scenario=run.scenario_name,
        baseline_id=None if baseline is None else baseline.run_id,
        baseline_source=None if baseline is None else str(baseline.source),
        p95_regression_pct=pct,
        endpoints=chosen,
        rules=tuple(rules),
        warnings=tuple(warnings),
        elapsed_s=round(time.perf_counter() - started, 3),
    )


def _regression_rules(
    run: Run,
    baseline: Baseline,
    pct: float,
    endpoints: Sequence[str],
    *,
    min_requests: int,
    fail_insufficient: bool,
    resamples: int,
    confidence: float,
    seed: int,
) -> list[RuleResult]:
    from dhakacart_bench.baseline import run_blocks

    allowed = 1 + pct / 100
    name = f"p95 regression ≤ +{pct:g}%"
    run_counts = {
        str(r.get("name")): int(r.get("count") or 0) for r in run.summary.get("endpoints", [])
    }
    run_counts[TOTAL] = int((run.summary.get("total") or {}).get("count") or 0)
    measurable = [
        e
        for e in endpoints
        if e in baseline.endpoints
        and min(run_counts.get(e, 0), baseline.endpoints[e].count) >= min_requests
    ]
    blocks = run_blocks(run, measurable) if measurable else {}
    out = []
    for number, endpoint in enumerate(endpoints):

        def insufficient(why: str, endpoint: str = endpoint) -> RuleResult:
            return RuleResult(
                name,
                "regression",
                endpoint,
                None,
                allowed,
                False if fail_insufficient else None,
                f"insufficient data: {why}",
                "insufficient data",
                metric="p95_ms",
                allowed_text=f"≤ +{pct:g}%",
            )

        base = baseline.endpoints.get(endpoint)
        if base is None:
            known = ", ".join(sorted(baseline.endpoints)) or "none"
            out.append(insufficient(f"the baseline has no endpoint {endpoint!r} (it has: {known})"))
            continue
        n_run, n_base = run_counts.get(endpoint, 0), base.count
        if min(n_run, n_base) < min_requests:
            out.append(
                insufficient(
                    f"{n_run:,} requests in the run and {n_base:,} in the baseline;"
                    f" the rule needs at least {min_requests:,} in each"
                )
            )
            continue
        run_side = blocks[endpoint]
        base_side = base.sparse_blocks(baseline.block_s)
        fewest = min(len(run_side.blocks), len(base_side.blocks))
        if fewest < DEFAULT_MIN_BLOCKS:
            out.append(
                insufficient(
                    f"{len(run_side.blocks)} blocks in the run and {len(base_side.blocks)} in the"
                    f" baseline; resampling needs at least {DEFAULT_MIN_BLOCKS} in each"
                )
            )
            continue
        stats = compare_p95(
            run_side,
            base_side,
            run_p95_ms=hist_stats(run.histogram(endpoint)).p95_ms or 0.0,
            baseline_p95_ms=hist_stats(base.histogram()).p95_ms or 0.0,
            baseline_run_p95_ms=base.run_p95_ms,
            resamples=resamples,
            confidence=confidence,
            seed=seed + number,
        )
        out.append(_regression_rule(name, endpoint, pct, stats))
    return out


def _regression_rule(name: str, endpoint: str, pct: float, stats: RegressionStats) -> RuleResult:
    allowed = 1 + pct / 100
    change = (
        f"p95 {pct_change(stats.ratio)} ({fmt_ms(stats.baseline_ms)} → {fmt_ms(stats.run_ms)}),"
        f" {stats.interval_text}"
    )
    if stats.ci_low > allowed:
        passed, decision = False, "regression"
        message = (
            f"measured {pct_change(stats.ratio)} > allowed +{pct:g}%: {change};"
            f" even the interval's lower bound is above the margin"
        )
    elif stats.ratio > allowed:
        passed, decision = True, "not significant"
        message = (
            f"{change}: above the +{pct:g}% margin, but within the run-to-run noise"
            f" (±{stats.noise_pct:.1f}%) — not enough evidence to fail"
        )
    else:
        passed, decision = True, "within margin"
        message = f"{change}: within the +{pct:g}% margin"
    return RuleResult(
        name,
        "regression",
        endpoint,
        stats.ratio,
        allowed,
        passed,
        message,
        decision,
        metric="p95_ms",
        measured_text=f"{pct_change(stats.ratio)} ({stats.interval_text})",
        allowed_text=f"≤ +{pct:g}%",
        regression=stats,
    )


# --------------------------------------------------------------------------- statistics


def compare_p95(
    run: SparseBlocks,
    baseline: SparseBlocks,
    *,
    run_p95_ms: float,
    baseline_p95_ms: float,
    baseline_run_p95_ms: Sequence[float] = (),
    percentile: float = 95.0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> RegressionStats:
    """Block bootstrap of the ratio of ``percentile`` run / baseline.

    Each resample draws as many blocks as each run has, with replacement,
    independently for the two runs; merges the drawn blocks' HDR counts exactly;
    takes the percentile with the run-folder convention (rank ``int(p*n/100 + 0.5)``,
    the highest value of its bucket); and divides. The interval is the central
    ``confidence`` range of the ``resamples`` ratios. ``run_p95_ms`` /
    ``baseline_p95_ms`` (the whole-run values) give the point estimate.

    With the p95s of two or more baseline runs (``baseline_run_p95_ms``), each
    ratio is also multiplied by a random between-run factor: ``exp(s * t *
    sqrt(1 + 1/k))`` with ``s`` the sd of the runs' log p95, ``t`` Student's t with
    ``k - 1`` degrees of freedom (a prediction interval for one more run). This
    covers what within-run resampling cannot see: whole runs shifted by a busy
    host.
    """
    import numpy as np

    if run.counts_len != baseline.counts_len:
        raise ValueError("the run and the baseline use different histogram layouts")
    rng = np.random.default_rng(seed)
    union = np.unique(np.concatenate([idx for idx, _ in (*run.blocks, *baseline.blocks)]))
    values = _bucket_values_ms(union)
    ours = _resampled_percentiles(run, union, values, rng, resamples, percentile)
    theirs = _resampled_percentiles(baseline, union, values, rng, resamples, percentile)
    ratios = ours / np.maximum(theirs, 1e-9)
    between: float | None = None
    k = len(baseline_run_p95_ms)
    if k >= 2:
        between = float(np.std(np.log(np.asarray(baseline_run_p95_ms, dtype=float)), ddof=1))
        ratios = ratios * np.exp(between * np.sqrt(1 + 1 / k) * rng.standard_t(k - 1, resamples))
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(ratios, [tail, 1 - tail]))
    ratio = run_p95_ms / baseline_p95_ms if baseline_p95_ms else float("inf")
    return RegressionStats(
        method=METHOD if k < 2 else f"{METHOD} + between-run spread of {k} baseline runs",
        percentile=percentile,
        baseline_ms=baseline_p95_ms,
        run_ms=run_p95_ms,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        noise_pct=(high - low) / 2 * 100,
        resamples=resamples,
        seed=seed,
        blocks_baseline=len(baseline.blocks),
        blocks_run=len(run.blocks),
        block_s_baseline=baseline.block_s,
        block_s_run=run.block_s,
        baseline_runs=max(k, 1),
        between_run_pct=None if between is None else between * 100,
    )


def _bucket_values_ms(indices: np.ndarray) -> np.ndarray:
    """The highest value (ms) of each HDR bucket index, as hist_stats reports it."""
    import numpy as np

    from dhakacart_bench.metrics import new_histogram, release_histogram

    template = new_histogram()
    out = np.array(
        [
            template.get_highest_equivalent_value(template.get_value_from_index(int(i)))
            for i in indices
        ],
        dtype=np.float64,
    )
    release_histogram(template)
    return out / 1000


def _resampled_percentiles(
    blocks: SparseBlocks,
    union: np.ndarray,
    values: np.ndarray,
    rng: np.random.Generator,
    resamples: int,
    percentile: float,
    chunk: int = 200,
) -> np.ndarray:
    """``resamples`` bootstrap values of ``percentile`` over ``blocks``."""
    import numpy as np

    n = len(blocks.blocks)
    matrix = np.zeros((n, len(union)), dtype=np.float64)
    for row, (idx, cnt) in enumerate(blocks.blocks):
        matrix[row, np.searchsorted(union, idx)] = cnt
    out = np.empty(resamples, dtype=np.float64)
    probabilities = np.full(n, 1.0 / n)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        weights = rng.multinomial(n, probabilities, size=size).astype(np.float64)
        cumulative = np.cumsum(weights @ matrix, axis=1)
        total = cumulative[:, -1]
        target = np.maximum(1.0, np.floor(percentile * total / 100 + 0.5))
        position = (cumulative < target[:, None]).sum(axis=1)
        out[start : start + size] = values[np.minimum(position, len(values) - 1)]
    return out


# --------------------------------------------------------------------------- renderings

_ICON = {PASSED: "✅", FAILED: "❌", SKIPPED: "⏭️", ERROR: "⛔"}
_DECISION_ICON = {PASS: "✅", FAIL: "❌", INVALID: "⛔"}


def decision_text(rule: RuleResult) -> str:
    """``decision: message``, without repeating a decision the message starts with."""
    if rule.message.startswith(rule.decision):
        return rule.message
    return f"{rule.decision}: {rule.message}"


def _endpoint_label(endpoint: str) -> str:
    return "all endpoints" if endpoint == TOTAL else endpoint


def render_text(result: GateResult) -> str:
    """The terminal summary: one line per rule, the warnings, the decision."""
    lines = [f"Gate: {result.scenario} run {result.run_id}"]
    if result.baseline_id:
        lines.append(f"  baseline: {result.baseline_id} ({result.baseline_source})")
    for rule in result.rules:
        where = "" if rule.kind == "validity" else f" [{_endpoint_label(rule.endpoint)}]"
        lines.append(f"  {rule.status.upper():<8} {rule.name}{where}: {rule.message}")
    lines += [f"  WARNING  {w}" for w in result.warnings]
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
            f"| {_ICON[rule.status]} | {_md(rule.name)} | {_md(_endpoint_label(rule.endpoint))}"
            f" | {_md(rule.measured_text)} | {_md(rule.allowed_text)}"
            f" | {_md(decision_text(rule))} |"
        )
    out += ["", f"**Verdict:** {_md(result.verdict_line)}"]
    if result.warnings:
        out.append("")
        out += [f"> ⚠️ {_md(w)}" for w in result.warnings]
    if any(r.regression for r in result.rules):
        out += [
            "",
            f"<sub>Regression method: {METHOD} (per-block HDR histograms resampled with"
            " replacement, merged exactly); a rule fails only when the lower bound of the"
            " interval is above the margin.</sub>",
        ]
    return "\n".join(out) + "\n"


def gate_context(result: GateResult) -> dict[str, Any]:
    """The plain dict the ``_gate.html`` partial renders (context key ``gate``)."""
    return {
        "decision": result.decision,
        "css": {PASS: "pass", FAIL: "fail", INVALID: "inconclusive"}[result.decision],
        "exit_code": result.exit_code,
        "verdict": result.verdict_line,
        "run_id": result.run_id,
        "scenario": result.scenario,
        "baseline_id": result.baseline_id,
        "margin": f"+{result.p95_regression_pct:g}%",
        "warnings": list(result.warnings),
        "method": METHOD,
        "counts": {s: result.count(s) for s in (PASSED, FAILED, SKIPPED, ERROR)},
        "rules": [
            {
                "name": r.name,
                "kind": r.kind,
                "endpoint": _endpoint_label(r.endpoint),
                "measured": r.measured_text,
                "allowed": r.allowed_text,
                "status": r.status,
                "decision": r.decision,
                "message": r.message,
                "decision_text": decision_text(r),
                "interval": r.regression.interval_text if r.regression else None,
            }
            for r in result.rules
        ],
    }


__all__ = [
    "DEFAULT_P95_REGRESSION_PCT",
    "METHOD",
    "GateResult",
    "RegressionStats",
    "RuleResult",
    "compare_p95",
    "evaluate_gate",
    "gate_context",
    "gate_settings",
    "render_markdown",
    "render_text",
    "validity_problems",
    "write_junit",
]
