"""The gate's rules on synthetic run folders."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dhakacart_bench.errors import BaselineError
from dhakacart_bench.gate.baseline import Baseline, load_baseline
from dhakacart_bench.gate.result import GateResult
from dhakacart_bench.gate.rules import evaluate_gate
from dhakacart_bench.gate.summary import render_markdown, render_text
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.hdr import hist_stats
from tests.gate.runs import GATE, A, B, C, rule, run_of, slo
from tests.synthetic import MakeRun


def noisy_latency(seed: int, factor: float) -> Callable[[str, float], float]:
    """Each one-second window gets its own, very different median latency."""
    rng = np.random.default_rng(seed)
    return lambda endpoint, users: 10.0 * factor * float(rng.lognormal(0.0, 0.8))


def test_a_good_run_passes(tmp_path: Path, baseline: Baseline) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2), baseline=baseline)
    assert result.decision == "PASS" and result.exit_code == 0, render_text(result)
    assert rule(result, "validity").status == "passed"
    assert [r.endpoint for r in result.rules if r.kind == "regression"] == ["*", A]
    assert result.verdict_line.startswith("PASS (exit 0): all 6 checked rules passed")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"status": "interrupted", "status_reason": "stopped by Ctrl-C"}, "interrupted"),
        ({"saturated": True}, "load generator was saturated"),
        ({"seconds": 5, "users_profile": lambda s: 3}, "a verdict needs at least 100"),
    ],
)
def test_an_invalid_run_exits_3(tmp_path: Path, kwargs: dict[str, Any], words: str) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2, **kwargs), baseline=None)
    validity = rule(result, "validity")
    assert validity.passed is False and validity.status == "error"
    assert words in validity.message
    assert result.decision == "INVALID" and result.exit_code == 3


def test_broken_invariants_fail_even_an_invalid_run(tmp_path: Path) -> None:
    broken = {"checked": True, "ok": False, "problems": ["sku 7 oversold by 2"], "stats": {}}
    result = evaluate_gate(
        run_of(tmp_path, seed=2, saturated=True, invariants=broken), baseline=None
    )
    invariants = rule(result, "slo", metric="invariants")
    assert invariants.passed is False and "sku 7 oversold by 2" in invariants.message
    assert result.decision == "FAIL" and result.exit_code == 1


def test_slo_rules_reuse_evaluate_slos(tmp_path: Path) -> None:
    run = run_of(tmp_path, seed=2, slos=[slo("p95_ms", endpoint=C, max=10_000.0)])
    result = evaluate_gate(run, baseline=None)
    p95 = rule(result, "slo", C)
    assert p95.passed is True and p95.decision == "met"
    assert p95.measured == hist_stats(run.histogram(C)).p95_ms
    assert p95.allowed == 10_000.0


def test_a_latency_slo_fails_with_measured_and_allowed(tmp_path: Path) -> None:
    run = run_of(tmp_path, seed=2, slos=[slo("p95_ms", endpoint=C, max=30.0)])
    result = evaluate_gate(run, baseline=None)
    p95 = rule(result, "slo", C)
    assert p95.passed is False and p95.status == "failed" and p95.decision == "missed"
    measured = hist_stats(run.histogram(C)).p95_ms
    assert p95.message == f"measured {measured:.0f} ms > allowed 30 ms"
    assert result.exit_code == 1


def test_error_rate_and_throughput_slos(tmp_path: Path) -> None:
    slos = [slo("error_rate", max=0.01), slo("rps", min=1_000.0)]
    result = evaluate_gate(run_of(tmp_path, seed=2, error_rate=0.05, slos=slos), baseline=None)
    errors = rule(result, "slo", metric="error_rate")
    assert errors.passed is False and errors.message == "measured 5% > allowed 1%"
    rps = rule(result, "slo", metric="rps")
    assert rps.passed is False and rps.message == "measured 180.0 req/s < allowed 1,000.0 req/s"
    assert result.exit_code == 1


def test_an_unchecked_slo_is_skipped_not_failed(tmp_path: Path) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2, invariants=None), baseline=None)
    invariants = rule(result, "slo", metric="invariants")
    assert invariants.passed is None and invariants.status == "skipped"
    assert invariants.message.startswith("not checked")
    assert "not checked: not checked" not in render_markdown(result)
    assert result.exit_code == 0


def test_identical_distributions_with_different_seeds_pass(
    tmp_path: Path, baseline: Baseline
) -> None:
    for seed in (2, 3, 4):
        result = evaluate_gate(run_of(tmp_path, seed=seed), baseline=baseline)
        for endpoint in ("*", A):
            r = rule(result, "regression", endpoint)
            assert r.passed is True and r.decision == "within margin", r.message
            assert r.regression is not None
            assert r.regression.ci_low <= 1.0 <= r.regression.ci_high


def test_a_25_percent_regression_fails(tmp_path: Path, baseline: Baseline) -> None:
    run = run_of(tmp_path, seed=2, factor={A: 1.25})
    result = evaluate_gate(run, baseline=baseline)
    r = rule(result, "regression", A)
    assert r.passed is False and r.status == "failed" and r.decision == "regression"
    stats = r.regression
    assert stats is not None
    assert stats.ratio == pytest.approx(1.25, abs=0.03)
    assert stats.ci_low > 1.10 and stats.ci_low <= stats.ratio <= stats.ci_high
    assert stats.method == "block bootstrap of the p95 ratio" and stats.resamples == 1000
    assert stats.blocks_run == stats.blocks_baseline == 30
    assert r.message.startswith("measured +2") and "> allowed +10%" in r.message
    assert stats.run_ms == hist_stats(run.histogram(A)).p95_ms
    assert result.exit_code == 1


def test_a_5_percent_regression_within_a_10_percent_margin_passes(
    tmp_path: Path, baseline: Baseline
) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2, factor={A: 1.05}), baseline=baseline)
    r = rule(result, "regression", A)
    assert r.passed is True and r.decision == "within margin", r.message
    assert result.exit_code == 0


def test_a_large_but_noisy_difference_with_few_windows_is_not_failed(
    make_run: MakeRun, tmp_path: Path
) -> None:
    common: dict[str, Any] = {"seconds": 8, "endpoints": [A], "users_profile": lambda s: 20}
    base = make_run(parent=tmp_path / "a", latency_model=noisy_latency(100, 1.0), seed=0, **common)
    slower = make_run(
        parent=tmp_path / "b", latency_model=noisy_latency(200, 1.6), seed=50, **common
    )
    result = evaluate_gate(load_run(slower), baseline=load_baseline(base))
    r = rule(result, "regression")
    assert r.regression is not None
    assert r.regression.ratio > 1.2  # the point estimate is well past the margin ...
    assert r.regression.ci_low < 1.0  # ... but the noise is larger still
    assert r.passed is True and r.decision == "not significant"
    assert "within the run-to-run noise" in r.message
    assert result.exit_code == 0


def test_too_few_requests_is_insufficient_data(tmp_path: Path) -> None:
    gate = {**GATE, "endpoints": [A, "GET /api/gone"], "min_requests": 10}
    few = {"users_profile": lambda s: 3, "seconds": 8, "gate": gate}  # 5 requests/s each
    base = load_baseline(run_of(tmp_path / "a", seed=1, **few).path)
    run = run_of(tmp_path / "b", seed=2, **few)
    result = evaluate_gate(run, baseline=base)
    r = rule(result, "regression", A)
    assert r.passed is None and r.status == "skipped" and r.decision == "insufficient data"
    assert "40 requests in the run and 40 in the baseline" in r.message
    gone = rule(result, "regression", "GET /api/gone")
    assert gone.status == "skipped" and "the baseline has no endpoint" in gone.message
    assert result.exit_code == 0 and result.count("skipped") == 2
    strict = evaluate_gate(run, baseline=base, insufficient_data="fail")
    assert rule(strict, "regression", A).status == "failed" and strict.exit_code == 1
    relaxed = evaluate_gate(run, baseline=base, min_endpoint_requests=20)
    assert rule(relaxed, "regression", A).decision == "within margin"


def test_flags_override_the_scenario_gate(tmp_path: Path, baseline: Baseline) -> None:
    run = run_of(tmp_path, seed=2, factor={B: 1.25})
    assert evaluate_gate(run, baseline=baseline).exit_code == 0  # B is not a gate endpoint
    chosen = evaluate_gate(run, baseline=baseline, endpoints=[B])
    assert [r.endpoint for r in chosen.rules if r.kind == "regression"] == [B]
    assert chosen.exit_code == 1
    loose = evaluate_gate(run, baseline=baseline, endpoints=[B], p95_regression_pct=40)
    assert loose.exit_code == 0 and loose.p95_regression_pct == 40.0
    assert rule(loose, "regression", B).name == "p95 regression ≤ +40%"


def test_without_a_baseline_regression_rules_are_skipped(tmp_path: Path) -> None:
    result = evaluate_gate(run_of(tmp_path, seed=2), baseline=None)
    skipped = [r for r in result.rules if r.kind == "regression"]
    assert [r.decision for r in skipped] == ["no baseline", "no baseline"]
    assert all(r.status == "skipped" for r in skipped)
    assert result.exit_code == 0


def test_a_baseline_of_another_scenario_is_refused(tmp_path: Path, baseline: Baseline) -> None:
    other = run_of(tmp_path, seed=2, scenario_name="checkout")
    with pytest.raises(BaselineError, match="baseline of scenario 'flash-sale'"):
        evaluate_gate(other, baseline=baseline)


def test_an_environment_mismatch_warns_and_still_evaluates(
    tmp_path: Path, baseline: Baseline
) -> None:
    run = run_of(tmp_path, seed=2, factor={A: 1.25})
    meta = json.loads((run.path / "run.json").read_text())
    meta["versions"]["locust"] = "2.99.0"
    (run.path / "run.json").write_text(json.dumps(meta))
    result = evaluate_gate(load_run(run.path), baseline=baseline)
    assert result.warnings == (
        "the environment differs from the baseline's: locust 2.47.0 → 2.99.0",
    )
    assert result.exit_code == 1
    assert "WARNING  the environment differs" in render_text(result)


def test_a_one_hour_run_is_gated_within_seconds(make_run: MakeRun, tmp_path: Path) -> None:
    hour: dict[str, Any] = {
        "seconds": 3600,
        "endpoints": {A: 10.0},
        "users_profile": lambda s: 20,
        "gate": GATE,
    }
    base = load_baseline(make_run(parent=tmp_path / "a", seed=1, **hour))
    run = load_run(make_run(parent=tmp_path / "b", seed=2, **hour))
    started = time.process_time()  # CPU time: a busy CI host does not make it flaky
    result = evaluate_gate(run, baseline=base)
    assert time.process_time() - started < 10
    r = rule(result, "regression", A)
    assert r.regression is not None and r.regression.block_s_run == 30
    assert r.regression.blocks_run == 120
    assert result.exit_code == 0


def test_to_dict_is_json(failing: GateResult) -> None:
    data = json.loads(json.dumps(failing.to_dict(), allow_nan=False))
    assert data["decision"] == "FAIL" and data["exit_code"] == 1
    assert data["counts"] == {"passed": 3, "failed": 2, "skipped": 1, "error": 0}
    regression = next(
        r for r in data["rules"] if r["kind"] == "regression" and r["passed"] is False
    )
    assert regression["regression"]["method"] == "block bootstrap of the p95 ratio"
    assert regression["regression"]["ci_low"] > 1.1


def test_a_pooled_baseline_adds_the_between_run_noise(tmp_path: Path) -> None:
    """Whole runs that differ (a busy host) widen the interval: no false alarm."""
    from dhakacart_bench.gate.baseline import baseline_from_runs

    shifted = [
        run_of(tmp_path / str(i), seed=i, factor={A: f}) for i, f in enumerate((1.0, 1.2, 0.85))
    ]
    pooled = baseline_from_runs(shifted)
    busy = run_of(tmp_path / "busy", seed=9, factor={A: 1.3})  # the host, not the build
    against_one = rule(
        evaluate_gate(busy, baseline=load_baseline(shifted[0].path)), "regression", A
    )
    against_pool = rule(evaluate_gate(busy, baseline=pooled), "regression", A)
    assert against_one.decision == "regression"  # one run cannot see between-run noise
    stats = against_pool.regression
    assert stats is not None and stats.baseline_runs == 3
    assert stats.between_run_pct is not None and stats.between_run_pct > 10
    assert "between-run spread of 3 baseline runs" in stats.method
    assert against_pool.passed is True and against_pool.decision == "not significant"
    slow = run_of(tmp_path / "slow", seed=10, factor={A: 2.5})  # a real, large regression
    assert rule(evaluate_gate(slow, baseline=pooled), "regression", A).decision == "regression"
