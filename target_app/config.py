"""Configuration of the reference store: one table of settings.

Precedence (lowest first): :data:`DEFAULTS`, environment variables (see
:data:`ENV_VARS`), then the ``config`` mapping given to ``create_app``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

ENVIRONMENTS = ("production", "development", "bench")

#: Strong default for real deployments; the bench-managed store uses a cheap one
#: because a flash sale of 100K logins at ~0.3 s of CPU each is impossible to serve.
STRONG_PASSWORD_HASH = "pbkdf2:sha256:600000"
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1000"

DEFAULTS: dict[str, Any] = {
    "STORE_ENV": "development",
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # None -> sqlite file <instance>/dhakacart.sqlite3
    "ADMIN_TOKEN": None,  # None -> admin API disabled (404)
    "PASSWORD_HASH": None,  # None -> strong, or cheap when STORE_ENV=bench
    "TOKEN_MAX_AGE_S": 24 * 3600,
    "RATE_LIMIT_LOGIN": None,  # e.g. "5/minute"; None -> off
    "FAULTS": None,  # initial fault knobs (dict) until an admin sets them
    "FAULTS_CACHE_S": 0.5,  # how long a process caches the fault knobs
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "DB_POOL_SIZE": 20,
    "DB_MAX_OVERFLOW": 20,
    "SQLITE_BUSY_TIMEOUT_S": 15.0,
    # TEST ONLY: a broken build whose stock updates are a non-atomic read-then-write,
    # so tests can prove that the invariant checker catches overselling. Refused in
    # production. Never turn it on anywhere else.
    "UNSAFE_STOCK": False,
    "UNSAFE_STOCK_RACE_S": 0.005,  # the pause between the read and the write
}

#: environment variable -> config key
ENV_VARS: dict[str, str] = {
    "DATABASE_URL": "DATABASE_URL",
    "STORE_SECRET_KEY": "SECRET_KEY",
    "STORE_ADMIN_TOKEN": "ADMIN_TOKEN",
    "STORE_ENV": "STORE_ENV",
    "STORE_PASSWORD_HASH": "PASSWORD_HASH",
    "STORE_RATE_LIMIT_LOGIN": "RATE_LIMIT_LOGIN",
    "STORE_FAULTS": "FAULTS",
    "STORE_UNSAFE_STOCK": "UNSAFE_STOCK",
}


class ConfigError(ValueError):
    """The store's configuration is invalid (raised by ``create_app``)."""


def load_config(
    overrides: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merge defaults, environment and overrides into a validated config dict."""
    env = os.environ if environ is None else environ
    cfg = dict(DEFAULTS)
    for var, key in ENV_VARS.items():
        value = env.get(var)
        if value:
            cfg[key] = value
    if overrides:
        cfg.update(overrides)
    if isinstance(cfg["FAULTS"], str):
        try:
            cfg["FAULTS"] = json.loads(cfg["FAULTS"])
        except ValueError as exc:
            raise ConfigError(f"STORE_FAULTS is not valid JSON: {exc}") from None
    store_env = cfg["STORE_ENV"]
    if store_env not in ENVIRONMENTS:
        raise ConfigError(f"STORE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {store_env!r}")
    if not cfg["SECRET_KEY"]:
        if store_env == "production":
            raise ConfigError("STORE_SECRET_KEY must be set when STORE_ENV=production")
        cfg["SECRET_KEY"] = secrets.token_urlsafe(32)
        log.warning(
            "No STORE_SECRET_KEY set: using a random per-process secret (tokens do not "
            "survive a restart and are not shared between worker processes)"
        )
    unsafe = cfg["UNSAFE_STOCK"]
    if isinstance(unsafe, str):
        unsafe = unsafe.strip().lower() not in ("", "0", "false", "no", "off")
    cfg["UNSAFE_STOCK"] = bool(unsafe)
    if cfg["UNSAFE_STOCK"]:
        if store_env == "production":
            raise ConfigError(
                "STORE_UNSAFE_STOCK is a test-only broken build (it oversells) and is "
                "refused when STORE_ENV=production"
            )
        log.warning(
            "STORE_UNSAFE_STOCK is on: stock updates are NOT atomic and the store WILL "
            "oversell under concurrency (test-only build)"
        )
    if not cfg["PASSWORD_HASH"]:
        cfg["PASSWORD_HASH"] = CHEAP_PASSWORD_HASH if store_env == "bench" else STRONG_PASSWORD_HASH
    return cfg
