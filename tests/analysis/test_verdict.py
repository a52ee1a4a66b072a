"""SLOs and the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.analysis.reliability import RunReliability, measure_slo
from dhakacart_bench.analysis.slos import evaluate_slos
from dhakacart_bench.analysis.verdict import FAIL, INCONCLUSIVE, PASS, evaluate_verdict
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import (
    MakeRun,
    rewrite_meta,
)


def test_slos_measure_what_the_factory_recorded(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(make_run(error_rate=0.02))
    by_metric = {r.metric: r for r in evaluate_slos(run)}
    total = run.summary.total
    assert by_metric["p95_ms"].measured == total.p95_ms
    assert by_metric["p95_ms"].passed is True
    assert by_metric["error_rate"].measured == total.failures / total.count
    assert by_metric["error_rate"].measured == pytest.approx(0.02, abs=0.002)
    assert by_metric["error_rate"].passed is False
    assert by_metric["invariants"].passed is True


def test_rps_and_endpoint_slos(make_run: MakeRun, tmp_path: Path) -> None:
    slos = [
        {"metric": "rps", "endpoint": "*", "min": 10_000.0, "max": None, "name": "10k rps"},
        {
            "metric": "p99_ms",
            "endpoint": "POST /api/checkout",
            "max": 1000.0,
            "min": None,
            "name": "checkout p99",
        },
        {"metric": "p95_ms", "endpoint": "GET /nowhere", "max": 1.0, "min": None, "name": "x"},
    ]
    run = load_run(make_run(slos=slos))
    rps, checkout, nowhere = evaluate_slos(run)
    assert rps.measured == run.summary.total.rps and rps.passed is False
    row = run.summary.row("POST /api/checkout")
    assert row is not None and checkout.measured == row.p99_ms and checkout.passed is True
    assert nowhere.passed is None and "no requests" in nowhere.reason


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({}, PASS, "SLOs held"),
        ({"latency_model": lambda ep, n: 2000.0}, FAIL, "p95 under 500 ms"),
        (
            {"invariants": {"checked": True, "ok": False, "problems": ["sku-7 oversold by 3"]}},
            FAIL,
            "sku-7 oversold by 3",
        ),
        (
            {
                "invariants": {"checked": True, "ok": False, "problems": ["oversold"]},
                "saturated": True,
            },
            FAIL,
            "oversold",
        ),
        ({"status": "interrupted", "status_reason": "Ctrl-C"}, INCONCLUSIVE, "interrupted"),
        ({"status": "interrupted", "latency_model": lambda ep, n: 2000.0}, FAIL, "p95"),
        ({"saturated": True}, INCONCLUSIVE, "measure the load generator, not the store"),
        # saturated, but its loop never stalled over 12 ms: a 2-second latency is the target's
        ({"saturated": True, "latency_model": lambda ep, n: 2000.0}, FAIL, "worst event-loop"),
        ({"gate": {"min_requests": 10**9}}, INCONCLUSIVE, "a verdict needs at least"),
        ({"invariants": None}, INCONCLUSIVE, "could not be checked"),
    ],
)
def test_verdict_rules(
    make_run: MakeRun, tmp_path: Path, kwargs: dict, status: str, words: str
) -> None:
    verdict = evaluate_verdict(load_run(make_run(seconds=10, **kwargs)))
    assert verdict.status == status, verdict.reasons
    assert any(words in r for r in verdict.reasons), verdict.reasons
    assert verdict.headline


def test_verdict_is_frozen(make_run: MakeRun, tmp_path: Path) -> None:
    verdict = evaluate_verdict(load_run(make_run(seconds=5)))
    with pytest.raises(AttributeError):
        verdict.status = FAIL  # type: ignore[misc]


def test_a_busy_machine_makes_latency_failures_inconclusive(
    make_run: MakeRun, tmp_path: Path
) -> None:
    from dhakacart_bench.analysis.verdict import INCONCLUSIVE, evaluate_verdict
    from dhakacart_bench.measure.health import assess_host
    from dhakacart_bench.runfolder.reader import load_run

    path = make_run(seconds=30, slos=[{"metric": "p95_ms", "endpoint": "*", "max": 0.001}])
    rewrite_meta(path, machine=assess_host([1.5] * 30))
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == INCONCLUSIVE
    assert any("busy with other work" in reason for reason in verdict.reasons)
    assert any(reason.startswith("(Not trusted)") for reason in verdict.reasons)


def test_more_users_than_planned_is_not_the_planned_load(make_run: MakeRun, tmp_path: Path) -> None:
    from dhakacart_bench.analysis.verdict import INCONCLUSIVE, evaluate_verdict
    from dhakacart_bench.runfolder.meta import UsersMeta
    from dhakacart_bench.runfolder.reader import load_run

    path = make_run(seconds=30)
    rewrite_meta(path, users=UsersMeta(peak=184, requested_peak=100, reference_peak=100_000))
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == INCONCLUSIVE
    assert any("more than the 100 planned" in reason for reason in verdict.reasons)


def test_measure_slo_without_data_is_never_a_value() -> None:
    empty = RunReliability(None, None, ())
    for metric in ("availability_pct", "longest_gap_s", "deploy_failed_requests", "recovery_s"):
        value, why = measure_slo(empty, metric)
        assert value is None
        assert why
