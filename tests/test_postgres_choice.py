"""The PostgreSQL tests run wherever PostgreSQL answers; skip with a reason otherwise."""

from __future__ import annotations

import pytest

from tests import postgres


def test_the_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV, "postgresql://u@db.example/x")
    assert postgres.postgres_server_url() == "postgresql://u@db.example/x"


def test_nothing_answering_skips_with_the_reason_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, refused_port: int
) -> None:
    monkeypatch.delenv(postgres.ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    nowhere = f"postgresql://postgres@127.0.0.1:{refused_port}/postgres"
    monkeypatch.setattr(postgres, "DEFAULT_URL", nowhere)
    with pytest.raises(pytest.skip.Exception, match=f"no PostgreSQL answers at {nowhere}"):
        postgres.postgres_server_url()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: PostgreSQL tests must run"):
        postgres.postgres_server_url()
