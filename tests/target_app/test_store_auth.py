"""Registration, login, tokens, the login rate limiter and start-up configuration."""

from __future__ import annotations

from typing import Any

import pytest

from target_app import ConfigError, create_app
from target_app.config import STRONG_PASSWORD_HASH, load_config


def test_register_then_login(client: Any) -> None:
    creds = {"email": "Rahim@Example.com", "password": "correct horse"}
    resp = client.post("/api/auth/register", json=creds)
    assert resp.status_code == 201
    body = resp.get_json()
    assert isinstance(body["user_id"], int) and body["token"]
    resp = client.post("/api/auth/login", json={**creds, "email": "rahim@example.com"})
    assert resp.status_code == 200
    assert resp.get_json()["user_id"] == body["user_id"]
    cart = client.get("/api/cart", headers={"Authorization": f"Bearer {body['token']}"})
    assert cart.status_code == 200


def test_duplicate_email_is_409(client: Any) -> None:
    creds = {"email": "dup@example.com", "password": "password1"}
    assert client.post("/api/auth/register", json=creds).status_code == 201
    resp = client.post("/api/auth/register", json=creds)
    assert resp.status_code == 409
    assert resp.get_json()["error"] == "email_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "password1"},
        {"email": "a@example.com", "password": "short"},
        {"email": "a@example.com"},
        {"email": 5, "password": "password1"},
        {"email": "a@example.com", "password": ["password1"]},
    ],
)
def test_register_validation_is_422(client: Any, body: dict[str, Any]) -> None:
    resp = client.post("/api/auth/register", json=body)
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "validation_error"


@pytest.mark.parametrize(
    "creds",
    [
        {"email": "shopper1@dhakacart.test", "password": "wrong-pass"},
        {"email": "nobody@dhakacart.test", "password": "shopper-pass"},
    ],
)
def test_wrong_credentials_are_401(client: Any, creds: dict[str, str]) -> None:
    resp = client.post("/api/auth/login", json=creds)
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "invalid_credentials"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer garbage", "Basic dXNlcjpwYXNz", "Token abc"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/cart"),
        ("post", "/api/cart/items"),
        ("post", "/api/checkout"),
        ("post", "/api/deals/1/claim"),
        ("get", "/api/orders"),
        ("get", "/api/orders/1"),
    ],
)
def test_missing_or_bad_token_is_401(client: Any, method: str, path: str, header: Any) -> None:
    headers = {"Authorization": header} if header else {}
    resp = getattr(client, method)(path, headers=headers, json={})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "unauthorized"


def test_token_from_another_secret_is_401(app_config: dict[str, Any], client: Any) -> None:
    other = create_app({**app_config, "SECRET_KEY": "another-secret"})
    with other.app_context():
        from target_app.auth import make_token

        token = make_token(1)
    other.extensions["dhakacart_db"].dispose()
    resp = client.get("/api/cart", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_expired_token_is_401(app: Any, client: Any, login: Any) -> None:
    headers = login(1)
    app.config["TOKEN_MAX_AGE_S"] = -1
    assert client.get("/api/cart", headers=headers).status_code == 401


def test_rate_limiter_off_by_default(client: Any) -> None:
    for _ in range(20):
        resp = client.post("/api/auth/login", json={"email": "x@y.zz", "password": "nope-nope"})
        assert resp.status_code == 401


def test_rate_limiter_on_gives_429_with_retry_after(app: Any, app_config: dict[str, Any]) -> None:
    limited = create_app({**app_config, "RATE_LIMIT_LOGIN": "3/minute"})  # same seeded DB
    client = limited.test_client()
    creds = {"email": "x@y.zz", "password": "nope-nope"}
    codes = [client.post("/api/auth/login", json=creds).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    resp = client.post("/api/auth/login", json=creds)
    assert resp.get_json()["error"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # register has its own bucket
    assert client.post("/api/auth/register", json={}).status_code == 422
    other_ip = client.post("/api/auth/login", json=creds, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 401
    limited.extensions["dhakacart_db"].dispose()


def test_production_requires_a_secret() -> None:
    with pytest.raises(ConfigError, match="STORE_SECRET_KEY"):
        create_app({"STORE_ENV": "production", "SECRET_KEY": None})


@pytest.mark.parametrize(
    "config",
    [
        {"STORE_ENV": "staging"},
        {"RATE_LIMIT_LOGIN": "lots"},
        {"FAULTS": '{"error_rate": 7}'},
        {"FAULTS": "{not json"},
    ],
)
def test_invalid_config_is_refused(config: dict[str, Any], tmp_path: Any) -> None:
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **config})


def test_env_vars_and_defaults() -> None:
    cfg = load_config(
        None,
        {
            "STORE_ENV": "production",
            "STORE_SECRET_KEY": "s3cret",
            "DATABASE_URL": "postgresql://db/x",
            "STORE_FAULTS": '{"error_rate": 0.5}',
        },
    )
    assert cfg["SECRET_KEY"] == "s3cret"
    assert cfg["PASSWORD_HASH"] == STRONG_PASSWORD_HASH
    assert cfg["FAULTS"] == {"error_rate": 0.5}
    assert cfg["RATE_LIMIT_LOGIN"] is None
    bench = load_config({"SECRET_KEY": "x"}, {"STORE_ENV": "bench"})
    assert bench["PASSWORD_HASH"] == "pbkdf2:sha256:1000"
    overridden = load_config({"STORE_ENV": "development"}, {"STORE_ENV": "production"})
    assert overridden["STORE_ENV"] == "development" and overridden["SECRET_KEY"]
