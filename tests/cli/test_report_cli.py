"""``bench report``, ``bench compare`` and ``bench plan`` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main
from tests.synthetic import MakeRun


@pytest.fixture
def cli() -> click.Group:
    return main


def test_report_prints_the_path(make_run: MakeRun, cli: click.Group, tmp_path: Path) -> None:
    run = make_run(seconds=10)
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run / "report.html")
    assert (run / "report.html").is_file()


def test_report_with_baseline_and_output(
    make_run: MakeRun, cli: click.Group, tmp_path: Path
) -> None:
    base = make_run(seconds=10, name="base")
    run = make_run(seconds=10, name="run", seed=2)
    out = tmp_path / "custom.html"
    result = CliRunner().invoke(cli, ["report", str(run), "--baseline", str(base), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    assert 'id="changes"' in out.read_text(encoding="utf-8")


def test_compare(make_run: MakeRun, cli: click.Group, tmp_path: Path) -> None:
    a = make_run(seconds=10, name="a")
    b = make_run(seconds=10, name="b", seed=1)
    result = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "compare-a-vs-b.html")
    assert not (a / "compare.html").exists() and not (b / "compare.html").exists()
    out = tmp_path / "x.html"
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    folder = tmp_path / "comparisons"
    folder.mkdir()
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--output", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "compare-a-vs-b.html").is_file()


@pytest.mark.parametrize("inside", ["a", "b"])
def test_compare_never_writes_into_a_run_folder(
    make_run: MakeRun, cli: click.Group, tmp_path: Path, inside: str
) -> None:
    a = make_run(seconds=10, name="a")
    b = make_run(seconds=10, name="b", seed=1)
    target = tmp_path / inside / "compare.html"
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "inside the run folder" in result.output
    assert not target.exists()


def test_plan_prints_the_plan_and_its_assumptions(
    make_run: MakeRun, cli: click.Group, tmp_path: Path
) -> None:
    run = make_run(stepped=True)
    result = CliRunner().invoke(cli, ["plan", str(run), "--users", "100000"])
    assert result.exit_code == 0, result.output
    assert "Plan for 100,000 concurrent shoppers" in result.output
    assert "store instances" in result.output and "Assumptions:" in result.output
    assert "Little's law" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["report", "{missing}"],
        ["compare", "{missing}", "{run}"],
        ["plan", "{missing}", "--users", "10"],
        ["report", "{run}", "--baseline", "{missing}"],
    ],
)
def test_bad_folder_exits_2_without_traceback(
    make_run: MakeRun, cli: click.Group, tmp_path: Path, args: list[str]
) -> None:
    run = make_run(seconds=3)
    missing = tmp_path / "nope"
    argv = [a.format(missing=missing, run=run) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert "no such run folder" in result.output
    assert "Traceback" not in result.output


def test_incomplete_folder_exits_2(make_run: MakeRun, cli: click.Group, tmp_path: Path) -> None:
    run = make_run(seconds=3)
    (run / "run.json").unlink()
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 2, result.output
    assert "run.json missing" in result.output


def test_plan_needs_users(make_run: MakeRun, cli: click.Group, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", str(make_run(seconds=3))])
    assert result.exit_code == 2
    assert "--users" in result.output


def test_plan_without_requests_exits_2(make_run: MakeRun, cli: click.Group, tmp_path: Path) -> None:
    run = make_run(seconds=3, throughput=lambda users: 0)
    result = CliRunner().invoke(cli, ["plan", str(run), "--users", "100"])
    assert result.exit_code == 2, result.output
    assert "nothing to plan from" in result.output
    assert "Traceback" not in result.output
