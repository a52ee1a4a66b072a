"""Judging one level of a capacity search from its run folder (synthetic run folders
written through the real recorder and writer)."""

from __future__ import annotations

from pathlib import Path

from dhakacart_bench.analysis.capacity_level import is_steady, judge_level
from dhakacart_bench.runfolder.meta import ArrivalsMeta, GeneratorMeta
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun, rewrite_meta

SLOS = [
    {"metric": "p95_ms", "endpoint": "POST /api/checkout", "max": 100},
    {"metric": "error_rate", "max": 0.01},
]


def _judge(folder: Path, **kw: object) -> object:
    defaults = dict(
        index=1, rate=50.0, purpose="step", pool=20, warmup_s=2.0, hold_s=10.0, run_dir="x"
    )
    defaults.update(kw)
    return judge_level(load_run(folder), **defaults)  # type: ignore[arg-type]


def test_a_level_below_its_slos_holds_and_counts_only_the_judged_seconds(
    make_run: MakeRun,
) -> None:
    folder = make_run(seconds=14, slos=SLOS, users_profile=lambda s: 20, usl=(5.0, 0.0, 0.0))
    rewrite_meta(folder, arrivals=ArrivalsMeta(planned=600, started=600))
    lv = _judge(folder)
    ts = load_run(folder).timeseries()
    judged = ts[(ts["second"] >= 2) & (ts["second"] < 12)]
    assert lv.held, lv.broken
    assert lv.requests == int(judged["requests"].sum())
    assert lv.completed_rps == round(lv.requests / 10, 3)
    assert set(lv.endpoints) >= {"POST /api/checkout", "GET /api/products"}
    assert lv.p95_ms is not None and lv.generator_cpu_ms_per_request is not None


def test_a_broken_endpoint_slo_is_named_with_its_endpoint(make_run: MakeRun) -> None:
    folder = make_run(
        seconds=14,
        slos=SLOS,
        users_profile=lambda s: 20,
        latency_model=lambda endpoint, users: 400.0 if "checkout" in endpoint else 5.0,
    )
    lv = _judge(folder)
    assert not lv.held and lv.break_kind == "slo"
    assert lv.broken[0].startswith("POST /api/checkout p95 rises past 100 ms")


def test_arrivals_that_waited_for_a_user_and_a_saturated_generator_break_the_level(
    make_run: MakeRun,
) -> None:
    folder = make_run(seconds=14, slos=SLOS, users_profile=lambda s: 20)
    rewrite_meta(folder, arrivals=ArrivalsMeta(planned=600, started=590, late=30, dropped=10))
    lv = _judge(folder)
    assert not lv.held and lv.break_kind == "pool"
    assert "6.67% of arrivals waited for a free user (pool of 20)" in lv.broken
    rewrite_meta(folder, generator=GeneratorMeta(saturated=True, reason="CPU 99%"))
    lv = _judge(folder)
    assert lv.break_kind == "generator" and lv.generator_saturated


def test_errors_past_the_error_slo_break_the_level_as_errors(make_run: MakeRun) -> None:
    folder = make_run(seconds=14, slos=SLOS, users_profile=lambda s: 20, error_rate=0.2)
    lv = _judge(folder)
    assert lv.break_kind == "errors"
    assert any(w.startswith("errors reach") for w in lv.broken)


def test_completions_behind_the_offered_load_break_the_level(make_run: MakeRun) -> None:
    folder = make_run(seconds=14, slos=SLOS, users_profile=lambda s: 20)
    kept_up = _judge(folder, rate=100.0, requests_per_arrival=1.0)
    assert kept_up.held  # ~99 req/s completed of 100 offered
    behind = _judge(folder, rate=200.0, requests_per_arrival=1.0)
    assert behind.offered_rps == 200.0 and behind.completed_rps < 0.9 * 200
    assert behind.break_kind == "unsteady"
    assert "the target fell behind" in behind.broken[0]


def test_steadiness_is_latency_not_still_climbing() -> None:
    assert is_steady([10, 11, 10, 12, 11, 10])
    assert not is_steady([10, 12, 20, 40, 80, 160])
    assert is_steady([1, 2, 3, 4])  # doubled, but by less than 20 ms
