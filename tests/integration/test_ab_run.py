"""`bench run --against`: a real paired A/B run with two bundled stores (seconds)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main

BENCH = [sys.executable, "-m", "dhakacart_bench"]


def test_ab_smoke_catches_a_slow_candidate_and_rejudges_offline(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            *BENCH,
            "run",
            "ab-smoke",
            "--against",
            "bundled",
            "--gate",
            "--candidate-faults",
            '{"latency_ms": {"*": 40}}',
            "--duration",
            "20s",
            "--ab-min-seconds",
            "4s",
            "--ab-look-every",
            "2s",
            "--ab-min-requests",
            "100",
            "--reports-dir",
            str(reports),
            "-q",
            "--junit",
            str(tmp_path / "junit.xml"),
            "--summary",
            str(tmp_path / "summary.md"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "candidate p95 " in proc.stdout and ": FAIL" in proc.stdout
    # ab-smoke's [gate] ab_instance_spread_pct: every p95 interval carries it, and says so
    assert "with 1.5% between instances" in proc.stdout
    assert "p95 intervals: this run's noise and 1.5% between instances" in proc.stdout
    (run_dir,) = list(reports.iterdir())
    ab = json.loads((run_dir / "ab.json").read_text())
    assert ab["format"] == "dhakacart-bench/ab"
    assert ab["arms"]["candidate"]["overrides"] == {"faults": {"latency_ms": {"*": 40}}}
    assert abs(ab["arms"]["candidate"]["users"] - ab["arms"]["baseline"]["users"]) <= 1
    # both stores started with one hash seed (each process's moves its latency)
    seeds = {ab["arms"][arm]["hash_seed"] for arm in ("candidate", "baseline")}
    assert len(seeds) == 1
    (seed,) = seeds
    assert isinstance(seed, int)
    assert proc.stdout.count(f"PYTHONHASHSEED {seed})") == 2  # the terminal says it too
    assert ab["stopped_at_s"] is not None and ab["stopped_at_s"] < 20
    assert ab["plan"]["hsd_gamma"] == -2.0  # group-sequential spending over the looks
    assert ab["plan"]["instance_spread"] == pytest.approx(0.015)  # re-judged with it offline
    # ab-smoke's [gate] ab_reconnect_every: recorded, and said
    assert ab["plan"]["reconnect_every"] == 25
    assert "each user reconnected after every 25 requests" in proc.stdout
    for arm in ("candidate", "baseline"):
        meta = json.loads((run_dir / arm / "run.json").read_text())
        assert meta["target"] == "bundled" and meta["invariants"]["ok"]
        # both stores are the target, not noisy neighbours: their CPU is counted apart
        assert meta["machine"]["target_source"] == (
            "candidate: bundled store; baseline: bundled store"
        )
        assert len(meta["machine"]["target_pids"]) >= 2
        assert meta["machine"]["target_cores_max"] > 0
        assert (run_dir / arm / "windows.jsonl").stat().st_size > 0
    assert (run_dir / "report.html").is_file()
    html = (run_dir / "report.html").read_text()
    assert "ab-ratio" in html
    assert "warm-up (not judged)" in html  # the default 5 s warm-up, shaded on the chart
    assert "group-sequential alpha-spending over looks (Hwang-Shih-DeCani, gamma -2)" in html
    assert "also carries a 1.5 % spread between identical instances" in html
    assert html.count(f"(PYTHONHASHSEED {seed})") == 2  # both arms, side by side
    assert "<failure" in (tmp_path / "junit.xml").read_text()

    # offline, the folder alone gives the same decision at the same look
    result = CliRunner().invoke(main, ["gate", str(run_dir), "--no-report"])
    assert result.exit_code == 1, result.output
    live = json.loads((run_dir / "gate.json").read_text())
    assert live["decision"] == "FAIL"
    ab_report = CliRunner().invoke(main, ["report", str(run_dir), "-o", str(tmp_path / "ab.html")])
    assert ab_report.exit_code == 0, ab_report.output
    assert "Both arms side by side" in (tmp_path / "ab.html").read_text()
    # an arm folder is still an ordinary single-target run folder
    report = CliRunner().invoke(main, ["report", str(run_dir / "candidate")])
    assert report.exit_code == 0, report.output


def test_ab_run_with_the_baseline_down_exits_3_naming_it(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run(
        [
            *BENCH,
            "run",
            "ab-smoke",
            "--against",
            f"http://127.0.0.1:{port}",
            "--gate",
            "--duration",
            "5s",
            "--ab-warmup",
            "1s",
            "--reports-dir",
            str(tmp_path),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "baseline arm" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
