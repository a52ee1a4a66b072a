"""``bench store seed|verify|serve`` through CliRunner (and serve as a real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dhakacart_bench.cli.store import store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def test_seed_then_verify(runner: CliRunner, db_url: str) -> None:
    result = runner.invoke(
        store,
        ["seed", "--database-url", db_url, "--products", "12", "--deal-stock", "7", "--users", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "12 products" in result.output and "2 users" in result.output
    result = runner.invoke(store, ["verify", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 7 invariants hold")
    result = runner.invoke(store, ["verify", "--database-url", db_url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["stats"]["products"] == 12
    assert report["stats"]["deal_units_remaining"] == 7


def test_verify_exits_1_on_broken_invariants(runner: CliRunner, db_url: str) -> None:
    assert runner.invoke(store, ["seed", "--database-url", db_url]).exit_code == 0
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE deals SET remaining = -3")
    engine.dispose()
    result = runner.invoke(store, ["verify", "--database-url", db_url])
    assert result.exit_code == 1, result.output
    assert "BROKEN" in result.output and "deal oversold" in result.output
    result = runner.invoke(store, ["verify", "--database-url", db_url, "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["ok"] is False


def test_deal_opens_in(runner: CliRunner, db_url: str) -> None:
    result = runner.invoke(store, ["seed", "--database-url", db_url, "--deal-opens-in", "3600"])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        starts = conn.exec_driver_sql("SELECT starts_at FROM deals").scalar_one()
    engine.dispose()
    assert str(starts) > time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3500))


def test_default_database_is_under_instance(
    runner: CliRunner, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(store, ["seed", "--products", "5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "instance" / "dhakacart.sqlite3").is_file()
    assert runner.invoke(store, ["verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["verify", "--database-url", "nosuchdb://x"], 2, "invalid database URL"),
        (["seed", "--database-url", "not a url"], 2, "invalid database URL"),
        (
            ["verify", "--database-url", "postgresql://nobody@127.0.0.1:1/x"],
            3,
            "cannot use the database",
        ),
        (["seed", "--products", "0", "--database-url", "sqlite://"], 2, "products"),
        (
            [
                "seed",
                "--deal-opens-in",
                "5",
                "--deal-opens-at",
                "2030-01-01",
                "--database-url",
                "sqlite://",
            ],
            2,
            "not both",
        ),
        (["seed", "--deal-opens-at", "soon", "--database-url", "sqlite://"], 2, "ISO-8601"),
    ],
)
def test_user_mistakes_are_clear_errors(
    runner: CliRunner, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(store, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_verify_without_schema_is_exit_3(runner: CliRunner, db_url: str) -> None:
    result = runner.invoke(store, ["verify", "--database-url", db_url])
    assert result.exit_code == 3, result.output
    assert "no store schema" in result.output


def test_help_mentions_the_default_database(runner: CliRunner) -> None:
    result = runner.invoke(store, ["serve", "--help"])
    assert result.exit_code == 0
    assert "instance/dhakacart.sqlite3" in result.output


def test_serve_runs_gunicorn_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {**os.environ, "STORE_ADMIN_TOKEN": "t0ken"}
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "target_app", "serve", "--bind", "127.0.0.1:0"]
    cmd += ["--workers", "1", "--threads", "2", "--products", "6"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        url = None
        while url is None:
            assert time.monotonic() < deadline, log.read_text()
            assert proc.poll() is None, log.read_text()
            for line in log.read_text().splitlines():
                if "Listening at: " in line:
                    url = line.split("Listening at: ")[1].split()[0]
            time.sleep(0.05)
        while True:
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(url + "/ready").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(url + "/api/products").json()["total"] == 6
        faults = httpx.get(url + "/api/admin/faults", headers={"X-Admin-Token": "t0ken"})
        assert faults.status_code == 200
        assert (tmp_path / "instance" / "dhakacart.sqlite3").is_file()
        assert "Seeded" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0, log.read_text()
