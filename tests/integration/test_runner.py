"""Real runs of Locust against servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from dhakacart_bench.errors import TargetUnreachable
from dhakacart_bench.measure.config import Progress, RunConfig
from dhakacart_bench.measure.run import run_scenario
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.scenario.lookup import load_scenario

RUN_FILES = {
    "run.json",
    "summary.json",
    "histograms.json",
    "windows.jsonl",
    "timeseries.csv",
    "endpoint_timeseries.csv",
    "errors.json",
}


def _probe_scenario(tmp_path: Path, *, model: str = "closed", product: int = 1) -> Path:
    locustfile = tmp_path / "probe_users.py"
    locustfile.write_text(
        "from locust import constant, task\n"
        "from locust.contrib.fasthttp import FastHttpUser\n\n"
        "class Reader(FastHttpUser):\n"
        "    wait_time = constant(0.05)\n\n"
        "    @task\n"
        "    def read(self):\n"
        f"        self.client.get('/api/products/{product}', name='/api/products/[id]')\n"
    )
    if model == "closed":
        load = '[load]\nmodel = "closed"\n\n[[load.stages]]\nduration = "3s"\nusers = 5\n'
        load += "spawn_rate = 50\n"
    else:
        load = (
            '[load]\nmodel = "open"\nmax_users = 20\narrival = "uniform"\n\n'
            '[[load.stages]]\nduration = "3s"\narrival_rate = 40\n'
        )
    scenario = tmp_path / "probe.toml"
    scenario.write_text(
        f'name = "probe"\ndescription = "test"\nlocustfile = "probe_users.py"\n\n'
        f'[[users]]\nclass = "Reader"\n\n{load}'
    )
    return scenario


def test_closed_run_against_an_external_host_writes_a_complete_folder(
    tmp_path: Path, tiny_target: str
) -> None:
    scenario = load_scenario(_probe_scenario(tmp_path))
    seen: list[Progress] = []
    result = run_scenario(
        RunConfig(scenario=scenario, host=tiny_target, reports_dir=tmp_path / "reports"),
        progress=seen.append,
    )
    assert result.status == "completed"
    assert {p.name for p in result.run_dir.iterdir()} >= RUN_FILES
    run = load_run(result.run_dir)
    assert run.meta.target == "external"
    assert run.meta.workload_model == "closed"
    assert run.meta.invariants is None
    total = run.summary.total
    # 5 users, one request every ~50 ms, for 3 s: about 300 requests
    assert 100 < total.count < 400
    assert total.failures == 0
    assert run.histogram("*").get_total_count() == total.count
    assert run.endpoints() == ["GET /api/products/[id]"]
    assert seen and seen[-1].users == 5
    series = run.timeseries()
    assert series["requests"].sum() == total.count
    assert series["users"].max() == 5


def test_failures_are_classified_and_deduplicated(tmp_path: Path, tiny_target: str) -> None:
    scenario = load_scenario(_probe_scenario(tmp_path, product=2))
    result = run_scenario(
        RunConfig(scenario=scenario, host=tiny_target, reports_dir=tmp_path / "reports")
    )
    run = load_run(result.run_dir)
    total = run.summary.total
    assert total.failures == total.count > 0
    assert len(run.errors) == 1
    error = run.errors[0]
    assert (error.endpoint, error.kind, error.status) == (
        "GET /api/products/[id]",
        "http_status",
        500,
    )
    assert error.count == total.failures


def test_open_model_starts_arrivals_at_the_planned_rate(tmp_path: Path, tiny_target: str) -> None:
    scenario = load_scenario(_probe_scenario(tmp_path, model="open"))
    result = run_scenario(
        RunConfig(scenario=scenario, host=tiny_target, reports_dir=tmp_path / "reports")
    )
    run = load_run(result.run_dir)
    arrivals = run.meta.arrivals
    assert run.meta.workload_model == "open"
    # 40 arrivals/s for 3 s, evenly spaced: ~120 planned, nearly all started
    assert 100 <= arrivals.planned <= 125
    assert arrivals.started >= arrivals.planned - 5
    assert arrivals.dropped == 0
    assert abs(run.summary.total.count - arrivals.started) <= 5


def test_unreachable_host_is_a_run_error_and_writes_nothing(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    scenario = load_scenario(_probe_scenario(tmp_path))
    with pytest.raises(TargetUnreachable, match="did not answer"):
        run_scenario(
            RunConfig(
                scenario=scenario,
                host=f"http://127.0.0.1:{port}",
                reports_dir=tmp_path / "reports",
            )
        )
    assert not (tmp_path / "reports").exists()


def test_bundled_smoke_run_checks_the_store_invariants(tmp_path: Path) -> None:
    scenario = load_scenario("smoke")
    result = run_scenario(
        RunConfig(scenario=scenario, duration_s=4, reports_dir=tmp_path / "reports")
    )
    run = load_run(result.run_dir)
    assert run.meta.target == "bundled"
    assert run.meta.invariants.checked is True
    assert run.meta.invariants.ok is True
    assert run.summary.total.count > 0
    assert run.summary.total.failures == 0


def test_a_bug_mid_run_keeps_what_was_measured(
    tmp_path: Path, tiny_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dhakacart_bench.measure.engines.local import LocalEngine

    original_end = LocalEngine.end

    def broken_end(self: LocalEngine) -> None:
        original_end(self)
        raise RuntimeError("boom after the load")

    monkeypatch.setattr(LocalEngine, "end", broken_end)
    reports = tmp_path / "reports"
    scenario = load_scenario(_probe_scenario(tmp_path))
    with pytest.raises(RuntimeError, match="boom"):
        run_scenario(RunConfig(scenario=scenario, host=tiny_target, reports_dir=reports))
    run = load_run(next(reports.iterdir()))
    assert run.status == "failed"
    assert "boom after the load" in run.meta.status_reason
    assert run.summary.total.count > 0


def test_deploy_command_runs_during_the_load(tmp_path: Path, tiny_target: str) -> None:
    scenario = load_scenario(_probe_scenario(tmp_path))
    result = run_scenario(
        RunConfig(
            scenario=scenario,
            host=tiny_target,
            reports_dir=tmp_path / "reports",
            deploy_command="echo deployed $BENCH_HOST",
            deploy_at_s=1.0,
        )
    )
    events = result.meta.sidecars["events"]
    text = json.dumps(events)
    assert "command" in text
    stdout = list((result.run_dir / "events").glob("*-stdout.txt"))
    assert stdout and f"deployed {tiny_target}" in stdout[0].read_text()


def test_store_listens_on_every_extra_address() -> None:
    import httpx

    from dhakacart_bench.target.commands import StoreSettings
    from dhakacart_bench.target.process import ManagedStore

    with ManagedStore(StoreSettings(workers=1, extra_hosts=("127.0.0.2", "127.0.0.3"))) as store:
        assert len(store.urls) == 3
        for url in store.urls:
            assert httpx.get(f"{url}/health", timeout=5).json() == {"status": "ok"}
