"""Locust's config files and LOCUST_* variables, read by Locust's own parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.errors import UsageError
from dhakacart_bench.measure.engines.locust_config import read_locust_config


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.locust.conf of the machine's
    return tmp_path


def test_locust_conf_is_read_and_unsupported_options_are_named(in_tmp: Path) -> None:
    (in_tmp / "locust.conf").write_text(
        "locustfile = lf.py\nusers = 7\nspawn-rate = 3\nrun-time = 1m\n"
        "host = http://127.0.0.1:9\nheadless = true\ncsv = out\nhtml = r.html\n"
    )
    config = read_locust_config(env={})
    assert dict(config.values) == {
        "locustfile": "lf.py",
        "users": 7,
        "spawn_rate": 3.0,
        "run_time": 60,
        "host": "http://127.0.0.1:9",
    }
    assert config.sources == ("locust.conf",)
    assert set(config.unsupported) == {"--csv", "--html"}  # headless changes nothing
    assert "not supported by bench, no effect: " in config.describe()[-1]


def test_pyproject_tool_locust_and_env_override(in_tmp: Path) -> None:
    (in_tmp / "pyproject.toml").write_text('[tool.locust]\nusers = 5\nhost = "http://a"\n')
    config = read_locust_config(env={"LOCUST_USERS": "9"})
    assert config.values["users"] == 9  # environment beats the config file, as in Locust
    assert config.values["host"] == "http://a"


def test_an_explicit_config_file(in_tmp: Path) -> None:
    conf = in_tmp / "ci.conf"
    conf.write_text("users = 4\n")
    assert read_locust_config(conf, env={}).values == {"users": 4}
    with pytest.raises(UsageError, match="no such file"):
        read_locust_config(in_tmp / "missing.conf", env={})


def test_nothing_set_reads_nothing(in_tmp: Path) -> None:
    config = read_locust_config(env={})
    assert dict(config.values) == {} and config.unsupported == () and config.describe() == []
