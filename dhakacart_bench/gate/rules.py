"""The gate's rules, evaluated on one run folder.

:func:`evaluate_gate` checks three kinds of rule:

- **validity** — the run can be trusted at all (the verdict's structured
  :attr:`~dhakacart_bench.analysis.verdict.Verdict.validity`);
- **slo** — every ``[[slo]]`` of the scenario, exactly as
  :func:`~dhakacart_bench.analysis.slos.evaluate_slos` measures it;
- **regression** — the p95 of each gate endpoint may not regress more than
  ``p95_regression_pct`` against a baseline, *and* the regression must be larger than the
  run-to-run noise: a block bootstrap over both runs' per-second HDR histograms gives an
  interval of the p95 ratio (:func:`~dhakacart_bench.stats.bootstrap.compare_p95`), and
  the rule fails only when the interval's lower bound is above ``1 + pct/100``
  (docs/gate.md explains the method).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dhakacart_bench.analysis.blocks import run_blocks
from dhakacart_bench.analysis.slos import evaluate_slos, fmt_value
from dhakacart_bench.analysis.verdict import evaluate_verdict
from dhakacart_bench.gate.result import GateResult, RuleResult
from dhakacart_bench.humanize import fmt_ms, pct_change
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.settings import default
from dhakacart_bench.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    compare_p95,
)
from dhakacart_bench.stats.hdr import hist_stats

if TYPE_CHECKING:
    from dhakacart_bench.analysis.slos import SloResult
    from dhakacart_bench.analysis.verdict import Verdict
    from dhakacart_bench.gate.baseline import Baseline
    from dhakacart_bench.runfolder.reader import Run
    from dhakacart_bench.stats.bootstrap import RegressionStats


DEFAULT_MIN_ENDPOINT_REQUESTS: int = default("min_endpoint_requests")
"""Fewer requests to an endpoint (in either run) → its regression rule is "insufficient data"."""
DEFAULT_MIN_BLOCKS = 5
"""Fewer blocks (seconds with requests) in either run → "insufficient data"."""
INSUFFICIENT_DATA_POLICIES = ("skip", "fail")
DEFAULT_INSUFFICIENT_DATA: str = default("insufficient_data")


def _validity_rule(run: Run, verdict: Verdict) -> RuleResult:
    problems = verdict.validity
    total = run.summary.total.count
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
            stands=verdict.doubts_only_timings,
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


def _slo_rule(slo: SloResult, *, stands: bool = False) -> RuleResult:
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
        stands=stands,
    )


def gate_settings(
    run: Run, p95_regression_pct: float | None, endpoints: Sequence[str] | None
) -> tuple[float, tuple[str, ...]]:
    """The regression margin and gate endpoints: the arguments, else the scenario's
    ``[gate]``, else 10% on ``"*"``."""
    gate = run.scenario.gate
    pct = gate.p95_regression_pct if p95_regression_pct is None else p95_regression_pct
    chosen = list(endpoints or gate.endpoints or [TOTAL])
    return float(pct), tuple(dict.fromkeys(str(e) for e in chosen))


def evaluate_gate(
    run: Run,
    *,
    baseline: Baseline | None,
    p95_regression_pct: float | None = None,
    endpoints: Sequence[str] | None = None,
    min_endpoint_requests: int = DEFAULT_MIN_ENDPOINT_REQUESTS,
    insufficient_data: str = DEFAULT_INSUFFICIENT_DATA,
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
    rules = [
        _validity_rule(run, verdict),
        *(_slo_rule(s, stands=s.name in verdict.standing) for s in slos),
    ]
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
        warnings=tuple(warnings) + _omission_warning(verdict),
        elapsed_s=round(time.perf_counter() - started, 3),
        scale=verdict.scale,
        ready=verdict.ready,
        not_shown=verdict.not_shown,
    )


def _omission_warning(verdict: Verdict) -> tuple[str, ...]:
    """The verdict's coordinated-omission sentence, when the run's latencies hide stalls."""
    omission = verdict.omission
    return (omission.words,) if omission is not None and omission.understated else ()


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

    allowed = 1 + pct / 100
    name = f"p95 regression ≤ +{pct:g}%"
    run_counts = {row.name: row.count for row in (*run.summary.endpoints, run.summary.total)}
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
