from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main

LOCUSTFILE = "from locust import HttpUser\n\n\nclass Browser(HttpUser):\n    pass\n"

GOOD = """\
description = "A local scenario."
locustfile = "shop.py"

[[users]]
class = "Browser"

[load]
reference_users = 1000
default_users = 10

[[load.stages]]
duration = "1m30s"
users = 1000
"""


@pytest.fixture
def bench() -> click.Group:
    """A group like ``bench``'s: BenchError becomes a message and its exit code."""
    return main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "locustfiles").mkdir()
    (tmp_path / "locustfiles" / "shop.py").write_text(LOCUSTFILE)
    (tmp_path / "scenarios" / "local-one.toml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_list_shows_local_then_bundled(bench: click.Group, project: Path) -> None:
    result = CliRunner().invoke(bench, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "MODEL", "DURATION", "USERS", "SOURCE", "DESCRIPTION"]
    assert lines[1].split() == [
        "local-one",
        "closed",
        "1m30s",
        "10",
        "/",
        "1,000",
        "local",
        "A",
        "local",
        "scenario.",
    ]
    flash = next(line for line in lines if line.startswith("flash-sale "))
    assert "500 / 100,000" in flash
    assert "bundled" in flash
    assert any(line.startswith("smoke ") and "25s" in line for line in lines)


def test_list_shows_invalid_files_with_the_reason(bench: click.Group, project: Path) -> None:
    (project / "scenarios" / "broken.toml").write_text(GOOD.replace("users = 1000", "users = -1"))
    result = CliRunner().invoke(bench, ["list"])
    assert result.exit_code == 0, result.output
    broken = next(line for line in result.output.splitlines() if line.startswith("broken "))
    assert "INVALID" in broken
    assert "[load.stages[0].users] expected an integer >= 0, got -1" in broken


def test_local_file_shadows_bundled_in_list(bench: click.Group, project: Path) -> None:
    (project / "scenarios" / "smoke.toml").write_text(GOOD)
    result = CliRunner().invoke(bench, ["list"])
    smoke = [line for line in result.output.splitlines() if line.startswith("smoke ")]
    assert len(smoke) == 1
    assert "local" in smoke[0]


def test_validate_ok(bench: click.Group, project: Path) -> None:
    result = CliRunner().invoke(bench, ["validate", "scenarios/local-one.toml", "flash-sale"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ok: local-one (closed, 1m30s, 10 users by default")
    assert lines[1].startswith("ok: flash-sale (closed, 2m30s, 500 users by default")


def test_validate_without_arguments_checks_everything(bench: click.Group, project: Path) -> None:
    result = CliRunner().invoke(bench, ["validate"])
    assert result.exit_code == 0, result.output
    assert "ok: local-one" in result.output
    assert "ok: smoke" in result.output
    assert "ok: flash-sale" in result.output


def test_validate_invalid_exits_2_without_traceback(bench: click.Group, project: Path) -> None:
    bad = project / "scenarios" / "bad.toml"
    bad.write_text(GOOD + 'oops = "x"\n')
    result = CliRunner().invoke(bench, ["validate", "local-one", "scenarios/bad.toml"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert "ok: local-one" in result.stdout
    assert f"invalid: {bad}: [load.stages[0].oops] unknown key" in result.stderr
    assert "Error: 1 of 2 scenario(s) invalid" in result.stderr


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("no-such-scenario", 'no scenario named "no-such-scenario"'),
        ("missing.toml", "scenario file not found"),
    ],
)
def test_validate_unknown_exits_2(
    bench: click.Group, project: Path, argument: str, message: str
) -> None:
    result = CliRunner().invoke(bench, ["validate", argument])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_validate_toml_syntax_error_names_the_line(bench: click.Group, project: Path) -> None:
    (project / "scenarios" / "syntax.toml").write_text('name = "x"\nlocustfile = \n')
    result = CliRunner().invoke(bench, ["validate", "syntax"])
    assert result.exit_code == 2, result.output
    assert "invalid TOML" in result.stderr
    assert "line 2" in result.stderr
