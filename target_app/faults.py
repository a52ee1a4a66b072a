"""Fault injection knobs shared by every worker process through the database.

The knobs live in the ``settings`` row ``faults`` (JSON). Each process re-reads
it at most every ``FAULTS_CACHE_S`` seconds, so an admin change reaches every
gunicorn worker within that time. Until an admin sets them, the knobs are the
initial ones from config (``STORE_FAULTS``), else all off.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request

from target_app import db
from target_app.errors import ApiError

log = logging.getLogger(__name__)

EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/api/admin/")
MAX_MS = 60_000


def off() -> dict[str, Any]:
    return {
        "latency_ms": {"*": 0},
        "latency_jitter_ms": 0,
        "error_rate": 0.0,
        "error_rate_by_endpoint": {},
        "stall": {"every_s": 0, "for_ms": 0},
    }


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


def _mapping(value: Any, name: str, low: float, high: float) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object of endpoint -> number")
    out: dict[str, float] = {}
    for key, item in value.items():
        if not key.startswith("/") and key != "*":
            raise ValueError(f"{name} keys must be '*' or an endpoint rule like '/api/products'")
        out[key] = _number(item, f"{name}[{key}]", low, high)
    return out


def validate(update: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply a partial update to ``base`` (default: all off); ValueError on nonsense.

    Top-level keys replace the current value (nested objects are replaced whole).
    """
    if not isinstance(update, dict):
        raise ValueError("faults must be a JSON object")
    result = dict(base or off())
    for key, value in update.items():
        if key == "latency_ms":
            result[key] = _mapping(value, key, 0, MAX_MS)
        elif key == "latency_jitter_ms":
            result[key] = _number(value, key, 0, MAX_MS)
        elif key == "error_rate":
            result[key] = _number(value, key, 0, 1)
        elif key == "error_rate_by_endpoint":
            result[key] = _mapping(value, key, 0, 1)
        elif key == "stall":
            if value is None:
                value = {"every_s": 0, "for_ms": 0}
            if not isinstance(value, dict) or set(value) - {"every_s", "for_ms"}:
                raise ValueError("stall must be an object with every_s and for_ms")
            every = _number(value.get("every_s", 0), "stall.every_s", 0, 3600)
            for_ms = _number(value.get("for_ms", 0), "stall.for_ms", 0, MAX_MS)
            if every and for_ms >= every * 1000:
                raise ValueError("stall.for_ms must be shorter than stall.every_s")
            result[key] = {"every_s": every, "for_ms": for_ms}
        else:
            raise ValueError(f"unknown fault knob {key!r}")
    return result


class FaultCache:
    def __init__(self, initial: dict[str, Any] | None, ttl_s: float) -> None:
        self.initial = validate(initial or {})
        self.ttl_s = ttl_s
        self._value = self.initial
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def current(self) -> dict[str, Any]:
        now = time.monotonic()
        if now - self._read_at < self.ttl_s:
            return self._value
        with self._lock:
            if now - self._read_at >= self.ttl_s:
                try:
                    self._value = load(self.initial)
                except sa.exc.SQLAlchemyError:
                    log.warning("could not read the fault knobs; keeping the last ones")
                self._read_at = now
        return self._value

    def invalidate(self) -> None:
        self._read_at = -math.inf


def load(initial: dict[str, Any]) -> dict[str, Any]:
    with db.read_conn() as conn:
        raw = conn.execute(
            sa.select(db.settings.c.value).where(db.settings.c.key == "faults")
        ).scalar()
    value = json.loads(raw) if raw else None
    return validate(value) if value else initial


def save(value: dict[str, Any]) -> None:
    with db.write_tx() as conn:
        done = conn.execute(
            sa.update(db.settings)
            .where(db.settings.c.key == "faults")
            .values(value=json.dumps(value))
        )
        if done.rowcount == 0:
            conn.execute(sa.insert(db.settings).values(key="faults", value=json.dumps(value)))
    cache(current_app).invalidate()


def cache(app: Flask) -> FaultCache:
    result: FaultCache = app.extensions["dhakacart_faults"]
    return result


@dataclass
class FaultClock:
    """The wall clock and the sleep the fault knobs use: a seam, so tests inject both
    (``app.extensions["dhakacart_fault_clock"]``) instead of racing the real clock."""

    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


def fault_clock(app: Flask) -> FaultClock:
    result: FaultClock = app.extensions["dhakacart_fault_clock"]
    return result


def apply_faults() -> None:
    """before_request hook: stall, added latency, injected errors."""
    if request.path.startswith(EXEMPT_PREFIXES):
        return
    knobs = cache(current_app).current()
    rule = request.url_rule.rule if request.url_rule else "*"
    stall = knobs["stall"]
    clock = fault_clock(current_app)
    if stall["every_s"] and stall["for_ms"]:
        # Stalled periods are aligned to wall-clock multiples of every_s.
        now = clock.now()
        into = now % stall["every_s"]
        if into < stall["for_ms"] / 1000:
            clock.sleep(stall["for_ms"] / 1000 - into)
    latency = knobs["latency_ms"]
    delay_ms = latency.get(rule, latency.get("*", 0))
    if knobs["latency_jitter_ms"]:
        delay_ms += random.uniform(0, knobs["latency_jitter_ms"])
    if delay_ms > 0:
        clock.sleep(delay_ms / 1000)
    rate = knobs["error_rate_by_endpoint"].get(rule, knobs["error_rate"])
    if rate > 0 and random.random() < rate:
        raise ApiError(503, "injected_fault", "fault injected by the admin fault knobs")


def init_app(app: Flask) -> None:
    try:
        initial = validate(app.config["FAULTS"] or {})
    except ValueError as exc:
        from target_app.config import ConfigError

        raise ConfigError(f"invalid STORE_FAULTS: {exc}") from None
    app.extensions["dhakacart_faults"] = FaultCache(initial, app.config["FAULTS_CACHE_S"])
    app.extensions["dhakacart_fault_clock"] = FaultClock()
    app.before_request(apply_faults)
