"""`bench run` as a user runs it: a real process, real signals, real exit codes."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main

BENCH = [sys.executable, "-m", "dhakacart_bench"]


def _only_run_dir(reports: Path) -> Path:
    runs = list(reports.iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def test_smoke_run_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        # the noisy-neighbour knob, set explicitly: this test is about the store and the
        # CLI, not about how busy the shared machine is (tests/analysis/test_distortion.py)
        [
            *BENCH,
            "run",
            "smoke",
            "--duration",
            "10s",
            "--reports-dir",
            str(tmp_path),
            "--busy-cores",
            "64",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Verdict: PASS" in proc.stdout
    assert "store invariants: all hold" in proc.stdout
    assert "Traceback" not in proc.stderr
    run_dir = _only_run_dir(tmp_path)
    assert (run_dir / "report.html").is_file()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed"
    assert meta["verdict"]["status"] == "PASS"
    assert meta["exit_code"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_keeps_what_it_measured(tmp_path: Path, sig: signal.Signals) -> None:
    out_path = tmp_path / "stdout.txt"
    reports = tmp_path / "reports"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [
                *BENCH,
                "run",
                "smoke",
                "--duration",
                "60s",
                "--progress-every",
                "1",
                "--reports-dir",
                str(reports),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    try:
        while True:  # wait for live progress showing requests measured
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            match = re.search(r"requests ([\d,]+)", line)
            if match and int(match.group(1).replace(",", "")) >= 5:
                break
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout = out_path.read_text()
    assert proc.returncode == 3, stdout
    run_dir = _only_run_dir(reports)
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "interrupted"
    assert meta["verdict"]["status"] == "INCONCLUSIVE"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["total"]["count"] >= 5
    assert (run_dir / "report.html").is_file()
    assert "interrupted" in stdout


def test_unreachable_host_exits_3_without_traceback(tmp_path: Path, refused_port: int) -> None:
    result = CliRunner().invoke(
        main,
        [
            "run",
            "smoke",
            "--host",
            f"http://127.0.0.1:{refused_port}",
            "--reports-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "did not answer" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_unknown_scenario_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "no-such-scenario"])
    assert result.exit_code == 2, result.output
    assert "no-such-scenario" in result.output
    assert "Traceback" not in result.output


def test_bad_duration_exits_2() -> None:
    result = CliRunner().invoke(main, ["run", "smoke", "--duration", "soon"])
    assert result.exit_code == 2, result.output
    assert "duration" in result.output


def test_help_is_instant_and_imports_no_load_engine() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import dhakacart_bench.cli;"
        "heavy = [m for m in ('locust', 'gevent', 'pandas', 'matplotlib', 'ssl', 'flask')"
        " if m in sys.modules]; print(heavy, time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]"
    assert float(seconds) < 1.0


def test_the_readmes_ci_gate_command_works_verbatim_on_a_fresh_clone(tmp_path: Path) -> None:
    """The README's CI example, as written, in an empty project folder (no baseline yet)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (line,) = [x for x in readme.splitlines() if x.startswith("bench run smoke --baseline")]
    args = shlex.split(line)
    assert args[0] == "bench"
    proc = subprocess.run(
        [*BENCH, *args[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        # the noisy-neighbour knob: this test is about the command, not the machine
        env={**os.environ, "BENCH_BUSY_CORES": "64", "GITHUB_STEP_SUMMARY": ""},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no baseline at reports/baseline.json yet" in proc.stderr
    assert "Gate: PASS (exit 0)" in proc.stdout
    assert (tmp_path / "reports" / "junit.xml").is_file()
    assert (tmp_path / "reports" / "gate.md").is_file()


def test_a_missing_baseline_without_gate_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "smoke", "--baseline", str(tmp_path / "nope.json"), "-q"]
    )
    assert result.exit_code == 2, result.output
    assert "nope.json: no such file or run folder" in result.output
