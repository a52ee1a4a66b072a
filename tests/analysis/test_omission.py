"""Coordinated omission is said where it happened: a closed-model run whose completions
stalled while its users waited."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.analysis.omission import coordinated_omission
from dhakacart_bench.analysis.verdict import PASS, evaluate_verdict
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun, stalling_target

SECONDS = 70


def stalling_run(make_run: MakeRun, **options: object) -> Path:
    """A closed run of 10 users against a target that stalls 2 s every 7 s."""
    return make_run(
        endpoints={"GET /api/products/[id]": 5.0},
        latency_sigma=0.2,
        **stalling_target(SECONDS),
        **options,
    )


def test_a_stalling_closed_run_passes_but_says_its_percentiles_understate(
    make_run: MakeRun,
) -> None:
    run = load_run(stalling_run(make_run))
    verdict = evaluate_verdict(run)
    assert verdict.status == PASS  # the SLOs held, as the closed loop measured them
    assert verdict.full_size and verdict.latency_understated and not verdict.ready
    omission = verdict.omission
    assert omission is not None and omission.understated
    assert len(omission.stalls.stalls) >= 9
    assert omission.stalls.fraction == pytest.approx(2 / 7, abs=0.03)
    assert omission.reported_p99_ms is not None and omission.reported_p99_ms < 20
    # what arrivals would have seen: about 2 s - 1% of 7 s, plus the normal latency
    assert omission.estimated_p99_ms == pytest.approx(1935, abs=40)
    words = next(r for r in verdict.reasons if r.startswith("Coordinated omission"))
    assert "understate what arriving shoppers would see" in words
    assert 'open model ([load] model = "open")' in words
    assert verdict.headline.startswith("Not shown")
    assert verdict.not_shown is not None and "open model" in verdict.not_shown


def test_an_open_model_run_has_no_coordinated_omission(make_run: MakeRun) -> None:
    run = load_run(stalling_run(make_run, workload_model="open", invariants=None))
    assert coordinated_omission(run) is None
    assert not evaluate_verdict(run).latency_understated


def test_a_steady_run_says_nothing(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=30, users_profile=lambda s: 50))
    assert coordinated_omission(run) is None
    verdict = evaluate_verdict(run)
    assert not any("Coordinated omission" in r for r in verdict.reasons)


def test_a_short_stall_that_moves_no_p99_is_not_worth_a_word(make_run: MakeRun) -> None:
    """One 1-second stall in 200 s: 0.5% of arrivals would wait, the p99 is not moved."""
    rates = [1000] * 200
    rates[100] = 0
    run = load_run(
        make_run(
            seconds=200,
            users_profile=lambda s: 10,
            rate_at=lambda s, users: rates[s],
            reference_users=10,
        )
    )
    omission = coordinated_omission(run)
    assert omission is not None and len(omission.stalls.stalls) == 1
    assert omission.estimated_p99_ms is None and not omission.understated
    assert evaluate_verdict(run).ready
