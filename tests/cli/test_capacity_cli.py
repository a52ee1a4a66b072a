"""`bench capacity`'s usage errors and an unreachable target, through click's CliRunner
(no load is generated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main
from dhakacart_bench.cli.capacity import progress_text
from dhakacart_bench.measure.capacity import LevelProgress
from dhakacart_bench.measure.config import Progress
from dhakacart_bench.measure.recorder import LiveStats


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["capacity", "no-such-scenario"], "no-such-scenario"),
        (["capacity", "smoke", "--resolution", "150%"], "between 0% and 100%"),
        (["capacity", "smoke", "--resolution", "fine"], "expected a percentage"),
        (["capacity", "smoke", "--budget", "0s"], "greater than zero"),
    ],
)
def test_bad_usage_exits_2_without_traceback(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_host_exits_3_and_writes_nothing(tmp_path: Path, refused_port: int) -> None:
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        main,
        [
            "capacity",
            "smoke",
            "--host",
            f"http://127.0.0.1:{refused_port}",
            "--reports-dir",
            str(reports),
            "-q",
        ],
    )
    assert result.exit_code == 3, result.output
    assert "did not answer" in result.output
    assert not reports.exists() or not any(reports.iterdir())


def test_the_progress_line_shows_the_level_and_the_bracket() -> None:
    live = LiveStats(
        elapsed_s=5, users=30, rps=123.0, p95_ms=42.0, error_pct=0.0, requests=1000, failures=0
    )
    level = Progress(elapsed_s=5, planned_s=12, users=30, live=live)
    line = progress_text(LevelProgress(4, 160.0, "bisect", 30, (80.0, 320.0), 61.0, 300.0, level))
    assert line.startswith("level 4 (bisect) 160 arrivals/s, 30 users")
    assert "bracket 80.0-320 arrivals/s" in line and "61/300 s" in line
