"""Admin API access control, fault knobs and the invariant endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from target_app import create_app

LATENCY_RULE = "/api/products/<int:product_id>"


def test_admin_disabled_without_token(app_config: dict[str, Any], app: Any) -> None:
    no_admin = create_app({**app_config, "ADMIN_TOKEN": None})
    resp = no_admin.test_client().get("/api/admin/faults", headers={"X-Admin-Token": ""})
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    no_admin.extensions["dhakacart_db"].dispose()


@pytest.mark.parametrize("headers", [{}, {"X-Admin-Token": "wrong"}])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/admin/faults"),
        ("put", "/api/admin/faults"),
        ("delete", "/api/admin/faults"),
        ("get", "/api/admin/invariants"),
        ("put", "/api/admin/deals/1"),
    ],
)
def test_admin_wrong_token_is_403(client: Any, headers: Any, method: str, path: str) -> None:
    resp = getattr(client, method)(path, headers=headers, json={"error_rate": 1})
    assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"


def test_faults_off_by_default_and_partial_update(client: Any, admin: dict[str, str]) -> None:
    faults = client.get("/api/admin/faults", headers=admin).get_json()
    assert faults["error_rate"] == 0 and faults["latency_ms"] == {"*": 0}
    resp = client.put("/api/admin/faults", json={"latency_jitter_ms": 5}, headers=admin)
    assert resp.status_code == 200
    resp = client.put("/api/admin/faults", json={"error_rate": 0.25}, headers=admin)
    assert resp.get_json()["latency_jitter_ms"] == 5 and resp.get_json()["error_rate"] == 0.25
    assert client.delete("/api/admin/faults", headers=admin).get_json()["error_rate"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"error_rate": "high"},
        {"latency_ms": 5},
        {"latency_ms": {"*": -1}},
        {"latency_ms": {"products": 10}},
        {"stall": {"every_s": 1, "for_ms": 1000}},
        {"stall": {"every_s": 1, "sometimes": 1}},
        {"surprise": True},
        [1, 2],
    ],
)
def test_fault_validation_is_400(client: Any, admin: dict[str, str], body: Any) -> None:
    resp = client.put("/api/admin/faults", json=body, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["error"] in {"invalid_faults", "invalid_json"}


def test_error_rate_one_gives_503_and_exempts_ops(client: Any, admin: dict[str, str]) -> None:
    client.put("/api/admin/faults", json={"error_rate": 1.0}, headers=admin)
    resp = client.get("/api/products")
    assert resp.status_code == 503 and resp.get_json()["error"] == "injected_fault"
    for path in ("/health", "/ready", "/metrics", "/api/admin/faults"):
        assert client.get(path, headers=admin).status_code == 200, path
    client.delete("/api/admin/faults", headers=admin)
    assert client.get("/api/products").status_code == 200


def test_error_rate_by_endpoint(client: Any, admin: dict[str, str]) -> None:
    body = {"error_rate_by_endpoint": {"/api/categories": 1.0}}
    client.put("/api/admin/faults", json=body, headers=admin)
    assert client.get("/api/categories").status_code == 503
    assert client.get("/api/products").status_code == 200


class _FakeClock:
    """The store's fault clock, injected: the test sets the time, and sleeps are
    recorded (and advance the time) instead of taken."""

    def __init__(self, now: float) -> None:
        self.t = now
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.t += seconds


@pytest.fixture
def clock(app: Any) -> _FakeClock:
    from target_app.faults import FaultClock

    fake = _FakeClock(1_000.0)
    app.extensions["dhakacart_fault_clock"] = FaultClock(now=fake.now, sleep=fake.sleep)
    return fake


def test_latency_per_endpoint(client: Any, admin: dict[str, str], clock: _FakeClock) -> None:
    body = {"latency_ms": {"*": 0, LATENCY_RULE: 150}}
    client.put("/api/admin/faults", json=body, headers=admin)
    clock.slept.clear()
    assert client.get("/api/products/2").status_code == 200
    assert clock.slept == [0.15]
    for path in ("/api/categories", "/health"):
        assert client.get(path).status_code == 200
    assert clock.slept == [0.15]  # no added latency elsewhere


def test_stall_holds_requests_until_it_ends(
    client: Any, admin: dict[str, str], clock: _FakeClock
) -> None:
    client.put("/api/admin/faults", json={"stall": {"every_s": 1, "for_ms": 400}}, headers=admin)
    clock.slept.clear()
    clock.t = 2_000.1  # 100 ms into a 400 ms stall: held for the 300 ms left
    assert client.get("/api/categories").status_code == 200
    assert clock.slept == [pytest.approx(0.3)]
    clock.t = 2_000.5  # between stalls: not held
    assert client.get("/api/categories").status_code == 200
    assert len(clock.slept) == 1
    clock.t = 2_003.0  # the very start of a stall: held for all of it
    assert client.get("/api/categories").status_code == 200
    assert clock.slept[-1] == pytest.approx(0.4)


def test_initial_faults_from_config(app_config: dict[str, Any], app: Any) -> None:
    faulty = create_app({**app_config, "FAULTS": '{"error_rate": 1.0}'})
    client = faulty.test_client()
    assert client.get("/api/products").status_code == 503
    client.delete("/api/admin/faults", headers={"X-Admin-Token": app_config["ADMIN_TOKEN"]})
    assert client.get("/api/products").status_code == 200
    faulty.extensions["dhakacart_db"].dispose()


def test_invariants_endpoint(client: Any, admin: dict[str, str]) -> None:
    report = client.get("/api/admin/invariants", headers=admin).get_json()
    assert report["ok"] is True and report["problems"] == []
    assert "product_stock_accounting" in report["checked"]
    assert report["stats"]["products"] == 24
