"""Coordinated omission, once for real: a closed-model run against a target on 127.0.0.1
that stalls 2 s every 6 s. The closed loop's own p99 stays small (only the two waiting
users see each stall); the verdict must say that its percentiles understate what
arriving shoppers would see — about 2 - 0.01 * 6 = 1.94 s at p99 — and point to the open
model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dhakacart_bench.analysis.verdict import evaluate_verdict
from dhakacart_bench.measure.config import RunConfig
from dhakacart_bench.measure.run import run_scenario
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.scenario.lookup import load_scenario
from tests.servers import JsonHandler, serve_in_thread

EVERY_S = 6.0
STALL_S = 2.0


class _Stalling(JsonHandler):
    """Answers at once, except in the first STALL_S of every EVERY_S: then it waits until
    the stall ends (every request arriving in a stall waits the rest of it)."""

    started = 0.0

    def do_GET(self) -> None:
        phase = (time.monotonic() - self.started) % EVERY_S
        if phase < STALL_S:
            time.sleep(STALL_S - phase)  # patched by gevent: the rest of the process runs on
        self.answer(200, {"id": 1})


@pytest.fixture
def stalling_target() -> Iterator[str]:
    _Stalling.started = time.monotonic()
    with serve_in_thread(_Stalling) as url:
        yield url


def _scenario(tmp_path: Path, seconds: int) -> Path:
    (tmp_path / "reader.py").write_text(
        "from locust import constant, task\n"
        "from locust.contrib.fasthttp import FastHttpUser\n\n"
        "class Reader(FastHttpUser):\n"
        "    wait_time = constant(0)\n\n"
        "    @task\n"
        "    def read(self):\n"
        "        self.client.get('/api/products/1', name='/api/products/[id]')\n"
    )
    path = tmp_path / "stall.toml"
    path.write_text(
        'name = "stall"\ndescription = "closed loop against a stalling target"\n'
        'locustfile = "reader.py"\n\n[[users]]\nclass = "Reader"\n\n'
        '[load]\nmodel = "closed"\n\n'
        f'[[load.stages]]\nduration = "{seconds}s"\nusers = 2\nspawn_rate = 50\n\n'
        '[[slo]]\nmetric = "p99_ms"\nmax = 1000\n\n[gate]\nmin_requests = 100\n'
    )
    return path


def test_a_closed_run_against_a_stalling_target_says_its_percentiles_understate(
    tmp_path: Path, stalling_target: str
) -> None:
    result = run_scenario(
        RunConfig(
            scenario=load_scenario(_scenario(tmp_path, 14)),
            host=stalling_target,
            reports_dir=tmp_path / "reports",
        )
    )
    run = load_run(result.run_dir)
    verdict = evaluate_verdict(run)
    omission = verdict.omission
    assert omission is not None, run.timeseries()[["second", "users", "requests"]].to_string()
    assert len(omission.stalls.stalls) >= 2
    assert omission.reported_p99_ms is not None and omission.reported_p99_ms < 500
    # the stalls hold about a third of the time; arrivals' p99 ≈ 2 s - 1% of 6 s
    assert 0.2 < omission.stalls.fraction < 0.45
    assert omission.estimated_p99_ms is not None
    assert 1_400 < omission.estimated_p99_ms < 2_100
    assert omission.understated and verdict.latency_understated and not verdict.ready
    words = next(r for r in verdict.reasons if r.startswith("Coordinated omission"))
    assert "understate what arriving shoppers would see" in words and "open model" in words
