"""The README documents what the code does: commands, options and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from dhakacart_bench.cli import main
from dhakacart_bench.errors import EXIT_FAILED, EXIT_OK, EXIT_RUN_ERROR, EXIT_USAGE
from dhakacart_bench.settings import SETTINGS, Setting, reference_markdown, setting

README = Path(__file__).resolve().parent.parent / "README.md"


def _documented_commands() -> list[tuple[list[str], list[str]]]:
    """(command path, options) for every `bench ...` in the README's command table."""
    rows = []
    for line in README.read_text().splitlines():
        match = re.match(r"^\| `bench ([^`]+)`", line)
        if not match:
            continue
        words = match.group(1).split()
        path = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        rows.append((path, re.findall(r"(--[a-z][a-z-]*)", match.group(1))))
    return rows


def _resolve(path: list[str]) -> click.Command:
    command: click.Command = main
    ctx = click.Context(main)
    for name in path:
        assert isinstance(command, click.Group), f"{' '.join(path)}: {name} has no subcommands"
        sub = command.get_command(ctx, name)
        assert sub is not None, (
            f"README documents `bench {' '.join(path)}`, the CLI has no {name!r}"
        )
        command = sub
    return command


def test_every_documented_command_and_option_exists() -> None:
    rows = _documented_commands()
    assert len(rows) >= 7
    for path, options in rows:
        command = _resolve(path)
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for option in options:
            assert option in known, f"README: `bench {' '.join(path)} {option}` is not an option"


def test_every_command_is_documented() -> None:
    text = README.read_text()
    for name in main.list_commands(click.Context(main)):
        assert f"`bench {name}" in text, f"`bench {name}` is missing from the README"


def test_exit_codes_table_matches_the_code() -> None:
    text = README.read_text()
    for code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_RUN_ERROR):
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} is not documented"


def test_quick_start_has_the_two_commands() -> None:
    text = README.read_text()
    assert "pip install . && bench run flash-sale" in text
    assert 'pip install -e ".[dev]" && python -m pytest' in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[dev]"' in ci and "python -m pytest" in ci


# --------------------------------------------------------------------------- settings


def test_readme_holds_the_generated_settings_reference() -> None:
    text = README.read_text()
    assert reference_markdown() in text, (
        "the README's settings reference drifted from dhakacart_bench/settings.py:"
        " regenerate it with `python -m dhakacart_bench.settings`"
    )


@pytest.mark.parametrize("s", SETTINGS, ids=[s.name for s in SETTINGS])
def test_every_setting_is_the_same_option_on_each_of_its_commands(s: Setting) -> None:
    for path in s.commands:
        params = {p.name: p for p in _resolve(path.split()).params}
        assert s.name in params, f"`bench {path}` has no option for setting {s.name!r}"
        option = params[s.name]
        assert isinstance(option, click.Option)
        assert s.flag in option.opts, (path, option.opts)
        assert option.envvar == s.env and option.default == s.default, path
        assert option.help == s.help, path


def test_run_config_defaults_are_the_settings_defaults() -> None:
    from dataclasses import fields

    from dhakacart_bench.measure.config import RunConfig

    checked = 0
    for field in fields(RunConfig):
        if field.name in {s.name for s in SETTINGS}:
            assert field.default == setting(field.name).default, field.name
            checked += 1
    assert checked >= 5


def test_an_environment_variable_sets_a_setting(tmp_path: Path) -> None:
    from click.testing import CliRunner

    reports = tmp_path / "elsewhere"
    result = CliRunner().invoke(main, ["gate", "latest"], env={"BENCH_REPORTS_DIR": str(reports)})
    assert result.exit_code == 2, result.output
    assert str(reports) in result.output  # `latest` looked where the variable said
