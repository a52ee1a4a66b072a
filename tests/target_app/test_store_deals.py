"""Flash-sale deals: listing, claims, limits, sold out, scheduling, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from target_app.invariants import check_invariants


def claim(client: Any, headers: dict[str, str], **kwargs: Any) -> Any:
    return client.post("/api/deals/1/claim", headers=headers, **kwargs)


def test_list_deals(client: Any) -> None:
    items = client.get("/api/deals").get_json()["items"]
    assert len(items) == 1
    deal = items[0]
    assert set(deal) >= {
        "id", "product_id", "title", "price_cents", "stock", "remaining",
        "per_user_limit", "starts_at", "ends_at", "active",
    }  # fmt: skip
    assert deal["stock"] == deal["remaining"] == 5 and deal["per_user_limit"] == 2
    assert deal["active"] is True
    assert datetime.fromisoformat(deal["starts_at"]).tzinfo is not None


def test_claim_creates_a_deal_order(client: Any, login: Any, engine: Any) -> None:
    h = login(1)
    resp = claim(client, h)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["deal_id"] == 1 and body["quantity"] == 1
    order = client.get(f"/api/orders/{body['order_id']}", headers=h).get_json()
    deal = client.get("/api/deals").get_json()["items"][0]
    assert order["source"] == "deal" and order["total_cents"] == deal["price_cents"]
    assert deal["remaining"] == 4
    assert check_invariants(engine)["ok"]


def test_per_user_limit(client: Any, login: Any) -> None:
    h = login(1)
    assert claim(client, h, json={"quantity": 2}).status_code == 201
    resp = claim(client, h)
    assert resp.status_code == 409 and resp.get_json()["error"] == "limit_reached"
    resp = claim(client, login(2), json={"quantity": 3})
    assert resp.status_code == 409 and resp.get_json()["error"] == "limit_reached"


def test_sold_out_after_exactly_stock_units(client: Any, login: Any, engine: Any) -> None:
    client_codes = []
    for i in (1, 2, 3):
        client_codes.append(claim(client, login(i), json={"quantity": 2}).status_code)
    assert client_codes == [201, 201, 409]  # 5 units: 2 + 2, then 2 more do not fit
    resp = claim(client, login(3), json={"quantity": 1})
    assert resp.status_code == 201
    resp = claim(client, login(3), json={"quantity": 1})
    assert resp.status_code == 409 and resp.get_json()["error"] == "sold_out"
    report = check_invariants(engine)
    assert report["ok"], report["problems"]
    assert report["stats"]["deal_units_claimed"] == 5


def test_not_active_and_rescheduling(client: Any, login: Any, admin: dict[str, str]) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    resp = client.put("/api/admin/deals/1", json={"starts_at": later}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    resp = claim(client, login(1))
    assert resp.status_code == 409 and resp.get_json()["error"] == "deal_not_active"
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    resp = client.put("/api/admin/deals/1", json={"starts_at": past}, headers=admin)
    assert resp.get_json()["active"] is True
    assert claim(client, login(1)).status_code == 201
    ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    client.put("/api/admin/deals/1", json={"ends_at": ended}, headers=admin)
    assert claim(client, login(2)).get_json()["error"] == "deal_not_active"


def test_reschedule_validation(client: Any, admin: dict[str, str]) -> None:
    bad = [{"starts_at": "tomorrow"}, {"starts_at": 5}, {}, {"price": 1}]
    for body in bad:
        resp = client.put("/api/admin/deals/1", json=body, headers=admin)
        assert resp.status_code == 422, body
    far = (datetime.now(UTC) + timedelta(days=99999)).isoformat()
    assert (
        client.put("/api/admin/deals/1", json={"starts_at": far}, headers=admin).status_code == 422
    )
    assert (
        client.put("/api/admin/deals/9", json={"starts_at": far}, headers=admin).status_code == 404
    )


def test_unknown_deal_is_404(client: Any, login: Any) -> None:
    resp = client.post("/api/deals/99/claim", headers=login(1))
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_idempotent_claim(client: Any, login: Any) -> None:
    h = {**login(1), "Idempotency-Key": "flash-1"}
    first = claim(client, h)
    again = claim(client, h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert client.get("/api/deals").get_json()["items"][0]["remaining"] == 4
    # a checkout that reuses a claim's key replays nothing and sells nothing
    client.post("/api/cart/items", json={"product_id": 3}, headers=h)
    replay = client.post("/api/checkout", headers=h)
    assert replay.status_code == 200 and replay.get_json()["source"] == "deal"
