"""``bench gate`` and ``bench baseline save``: every exit code, every output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from dhakacart_bench.cli import main
from tests.synthetic import write_synthetic_run

A = "GET /api/a"
ENDPOINTS = {A: 10.0, "GET /api/b": 20.0}
GATE = {"p95_regression_pct": 10.0, "endpoints": ["*", A], "min_requests": 100}


@pytest.fixture
def bench() -> click.Group:
    """A group like ``bench``'s: BenchError becomes a message and its exit code."""
    return main


def invoke(bench: click.Group, *args: str | Path, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(
        bench, [str(a) for a in args], env={"GITHUB_STEP_SUMMARY": "", **(env or {})}
    )


def folder(tmp_path: Path, *, seed: int, slower: float = 1.0, **kwargs: Any) -> Path:
    options: dict[str, Any] = {
        "seconds": 20,
        "endpoints": ENDPOINTS,
        "users_profile": lambda s: 24,
        "latency_model": lambda e, u: ENDPOINTS[e] * (slower if e == A else 1.0),
        "gate": GATE,
        "seed": seed,
        "name": f"20261124T0600{seed:02d}Z-flash-sale",
    }
    options.update(kwargs)
    return write_synthetic_run(tmp_path, **options)


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    return folder(tmp_path / "base", seed=1)


@pytest.fixture
def baseline_file(bench: click.Group, tmp_path: Path, base_dir: Path) -> Path:
    path = tmp_path / "ci" / "baseline.json"
    result = invoke(bench, "baseline", "save", base_dir, path)
    assert result.exit_code == 0, result.output
    return path


def assert_clean_error(result: Result, code: int, words: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert words in result.stderr


def test_pass_exits_0_and_writes_every_output(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    run = folder(tmp_path / "runs", seed=2)
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n")
    result = invoke(
        bench,
        "gate",
        run,
        "--baseline",
        baseline_file,
        "--junit",
        tmp_path / "out" / "junit.xml",
        "--summary",
        tmp_path / "out" / "summary.md",
        env={"GITHUB_STEP_SUMMARY": str(step)},
    )
    assert result.exit_code == 0, result.output
    assert "Gate: PASS (exit 0)" in result.stdout
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.startswith("## ✅ bench gate: PASS")
    assert step.read_text() == "earlier step\n" + summary + "\n"  # appended
    stored = json.loads((run / "gate.json").read_text())
    assert stored["decision"] == "PASS" and stored["exit_code"] == 0


def test_a_regression_exits_1(bench: click.Group, tmp_path: Path, baseline_file: Path) -> None:
    run = folder(tmp_path / "runs", seed=2, slower=1.3)
    result = invoke(bench, "gate", run, "--baseline", baseline_file)
    assert result.exit_code == 1, result.output
    assert "FAILED   p95 regression ≤ +10% [GET /api/a]: measured +" in result.stdout
    assert "90% interval" in result.stdout
    assert "Gate: FAIL (exit 1)" in result.stdout


def test_flags_override_the_margin_and_endpoints(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    run = folder(tmp_path / "runs", seed=2, slower=1.3)
    loose = invoke(bench, "gate", run, "--baseline", baseline_file, "--p95-regression-pct", "50")
    assert loose.exit_code == 0, loose.output
    other = invoke(bench, "gate", run, "--baseline", baseline_file, "--endpoint", "GET /api/b")
    assert other.exit_code == 0, other.output
    assert "[GET /api/b]" in other.stdout and "[GET /api/a]" not in other.stdout


def test_an_slo_failure_exits_1_without_a_baseline(bench: click.Group, tmp_path: Path) -> None:
    slos = [{"metric": "p95_ms", "endpoint": "*", "max": 5.0, "min": None, "name": "p95 < 5 ms"}]
    result = invoke(bench, "gate", folder(tmp_path, seed=2, slos=slos))
    assert result.exit_code == 1, result.output
    assert "FAILED   p95 < 5 ms [all endpoints]: measured" in result.stdout
    assert "no baseline given" in result.stdout


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "interrupted", "status_reason": "SIGTERM"},
        {"saturated": True},
        {"seconds": 4, "users_profile": lambda s: 2},
    ],
)
def test_an_invalid_run_exits_3(bench: click.Group, tmp_path: Path, kwargs: dict[str, Any]) -> None:
    result = invoke(bench, "gate", folder(tmp_path, seed=2, **kwargs))
    assert result.exit_code == 3, result.output
    assert "ERROR    run is a valid gate input" in result.stdout
    assert "Gate: INVALID (exit 3)" in result.stdout


def test_insufficient_data_can_be_made_to_fail(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    run = folder(tmp_path / "runs", seed=2)
    args = ("gate", run, "--baseline", baseline_file, "--min-endpoint-requests", "100000")
    skipped = invoke(bench, *args)
    assert skipped.exit_code == 0, skipped.output
    assert "SKIPPED  p95 regression" in skipped.stdout
    failed = invoke(bench, *args, "--insufficient-data", "fail")
    assert failed.exit_code == 1, failed.output


def test_a_run_folder_is_accepted_as_baseline(
    bench: click.Group, tmp_path: Path, base_dir: Path
) -> None:
    result = invoke(bench, "gate", folder(tmp_path / "runs", seed=2), "--baseline", base_dir)
    assert result.exit_code == 0, result.output


def test_latest_is_the_newest_run_under_reports_dir(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    reports = tmp_path / "reports"
    folder(reports, seed=2, slower=1.3)
    newest = folder(reports, seed=3)
    (reports / "20261124T060099Z-incomplete").mkdir()  # no run.json: ignored
    result = invoke(bench, "gate", "latest", "--reports-dir", reports, "--baseline", baseline_file)
    assert result.exit_code == 0, result.output
    assert f"run {newest.name}" in result.stdout
    empty = invoke(bench, "gate", "latest", "--reports-dir", tmp_path / "nothing")
    assert_clean_error(empty, 2, "no complete run folder to use as 'latest'")


def test_an_environment_mismatch_warns_and_still_evaluates(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    run = folder(tmp_path / "runs", seed=2, slower=1.3)
    meta = json.loads((run / "run.json").read_text())
    meta["versions"]["python"] = "3.12.1"
    (run / "run.json").write_text(json.dumps(meta))
    result = invoke(bench, "gate", run, "--baseline", baseline_file)
    assert result.exit_code == 1, result.output
    assert "Warning: the environment differs from the baseline's: python 3.11.7 → 3.12.1" in (
        result.stderr
    )


def test_bad_baselines_exit_2_with_a_message(
    bench: click.Group, tmp_path: Path, baseline_file: Path
) -> None:
    run = folder(tmp_path / "runs", seed=2)
    missing = invoke(bench, "gate", run, "--baseline", tmp_path / "nope.json")
    assert_clean_error(missing, 2, "no such baseline file")

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{oops")
    assert_clean_error(invoke(bench, "gate", run, "--baseline", garbage), 2, "invalid JSON")

    future = tmp_path / "future.json"
    doc = json.loads(baseline_file.read_text())
    future.write_text(json.dumps({**doc, "format_version": 99}))
    assert_clean_error(
        invoke(bench, "gate", run, "--baseline", future), 2, "format_version 99 is newer"
    )

    other = folder(tmp_path / "other", seed=3, scenario_name="checkout")
    assert_clean_error(
        invoke(bench, "gate", other, "--baseline", baseline_file),
        2,
        "baseline of scenario 'flash-sale', but the run is of 'checkout'",
    )


def test_bad_usage_exits_2(bench: click.Group, tmp_path: Path) -> None:
    run = folder(tmp_path, seed=2)
    negative = invoke(bench, "gate", run, "--p95-regression-pct", "-5")
    assert negative.exit_code == 2 and "Traceback" not in negative.output
    assert_clean_error(invoke(bench, "gate", tmp_path / "absent"), 2, "no such run folder")
    assert invoke(bench, "gate").exit_code == 2


def test_baseline_save_default_path_and_refusals(
    bench: click.Group, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = folder(tmp_path / "runs", seed=2)
    monkeypatch.chdir(tmp_path)
    saved = invoke(bench, "baseline", "save", good)
    assert saved.exit_code == 0, saved.output
    assert f"Saved baseline of flash-sale ({good.name})" in saved.stdout
    assert json.loads(Path("reports/baseline.json").read_text())["run_id"] == good.name

    bad = folder(tmp_path / "runs", seed=3, status="interrupted", status_reason="Ctrl-C")
    refused = invoke(bench, "baseline", "save", bad, "b.json")
    assert_clean_error(refused, 2, "not a valid baseline run")
    assert not Path("b.json").exists()
    forced = invoke(bench, "baseline", "save", bad, "b.json", "--force")
    assert forced.exit_code == 0, forced.output
    assert_clean_error(invoke(bench, "baseline", "save", "nowhere"), 2, "no such run folder")


def test_baseline_save_pools_several_runs(bench: click.Group, tmp_path: Path) -> None:
    runs = [folder(tmp_path / "runs", seed=seed) for seed in (2, 3, 4)]
    out = tmp_path / "pooled.json"
    saved = invoke(bench, "baseline", "save", *runs, out)
    assert saved.exit_code == 0, saved.output
    assert "Saved baseline of flash-sale (3 runs)" in saved.stdout
    assert json.loads(out.read_text())["runs"] == [r.name for r in runs]
    gated = invoke(bench, "gate", folder(tmp_path / "new", seed=5), "--baseline", out)
    assert gated.exit_code == 0, gated.output
