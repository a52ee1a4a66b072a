"""Cart, checkout (atomic, all-or-nothing, idempotent) and orders."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from target_app import db


def stock_of(client: Any, product_id: int) -> int:
    return int(client.get(f"/api/products/{product_id}").get_json()["stock"])


def set_stock(engine: Any, product_id: int, stock: int) -> None:
    """Plant a stock level while keeping the accounting invariant true."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(db.products)
            .where(db.products.c.id == product_id)
            .values(
                initial_stock=db.products.c.initial_stock - db.products.c.stock + stock,
                stock=stock,
            )
        )


def test_cart_add_update_remove(client: Any, login: Any) -> None:
    h = login(1)
    assert client.get("/api/cart", headers=h).get_json() == {"items": [], "total_cents": 0}
    resp = client.post("/api/cart/items", json={"product_id": 3, "quantity": 2}, headers=h)
    assert resp.status_code == 201
    resp = client.post("/api/cart/items", json={"product_id": 3, "quantity": 1}, headers=h)
    cart = resp.get_json()
    price = stock_price = client.get("/api/products/3").get_json()["price_cents"]
    assert cart["items"] == [
        {
            "product_id": 3,
            "name": cart["items"][0]["name"],
            "quantity": 3,
            "unit_price_cents": price,
        }
    ]
    assert cart["total_cents"] == 3 * stock_price
    client.post("/api/cart/items", json={"product_id": 5}, headers=h)  # quantity defaults to 1
    cart = client.put("/api/cart/items/3", json={"quantity": 7}, headers=h).get_json()
    assert {i["product_id"]: i["quantity"] for i in cart["items"]} == {3: 7, 5: 1}
    cart = client.put("/api/cart/items/5", json={"quantity": 0}, headers=h).get_json()
    assert [i["product_id"] for i in cart["items"]] == [3]
    resp = client.delete("/api/cart/items/3", headers=h)
    assert resp.status_code == 200 and resp.get_json()["items"] == []
    # carts are per user
    client.post("/api/cart/items", json={"product_id": 4}, headers=h)
    assert client.get("/api/cart", headers=login(2)).get_json()["items"] == []


def test_cart_quantity_cap(client: Any, login: Any) -> None:
    h = login(1)
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 90}, headers=h)
    resp = client.post("/api/cart/items", json={"product_id": 3, "quantity": 20}, headers=h)
    assert resp.status_code == 422
    assert client.get("/api/cart", headers=h).get_json()["items"][0]["quantity"] == 90


def test_checkout_decrements_stock_and_clears_cart(client: Any, login: Any, engine: Any) -> None:
    h = login(1)
    before = {p: stock_of(client, p) for p in (3, 4)}
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 2}, headers=h)
    client.post("/api/cart/items", json={"product_id": 4, "quantity": 1}, headers=h)
    total = client.get("/api/cart", headers=h).get_json()["total_cents"]
    resp = client.post("/api/checkout", headers=h)
    assert resp.status_code == 201
    order = resp.get_json()
    assert order["status"] == "placed" and order["total_cents"] == total
    assert [(ln["product_id"], ln["quantity"]) for ln in order["lines"]] == [(3, 2), (4, 1)]
    assert stock_of(client, 3) == before[3] - 2 and stock_of(client, 4) == before[4] - 1
    assert client.get("/api/cart", headers=h).get_json()["items"] == []
    from target_app.invariants import check_invariants

    assert check_invariants(engine)["ok"]


def test_empty_cart_is_400(client: Any, login: Any) -> None:
    resp = client.post("/api/checkout", headers=login(1))
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "empty_cart"


def test_out_of_stock_changes_nothing(client: Any, login: Any, engine: Any, snapshot: Any) -> None:
    set_stock(engine, 4, 2)
    h = login(1)
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 1}, headers=h)
    client.post("/api/cart/items", json={"product_id": 4, "quantity": 3}, headers=h)
    before = snapshot()
    resp = client.post("/api/checkout", headers=h)
    assert resp.status_code == 409
    assert resp.get_json()["error"] == "out_of_stock"
    assert resp.get_json()["product_id"] == 4
    assert snapshot() == before  # product 3 was not decremented either, cart kept
    client.put("/api/cart/items/4", json={"quantity": 2}, headers=h)
    assert client.post("/api/checkout", headers=h).status_code == 201
    assert stock_of(client, 4) == 0
    client.post("/api/cart/items", json={"product_id": 4, "quantity": 1}, headers=h)
    assert client.post("/api/checkout", headers=h).status_code == 409


def test_idempotent_checkout_replays_the_same_order(client: Any, login: Any) -> None:
    h = login(1)
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 1}, headers=h)
    first = client.post("/api/checkout", headers={**h, "Idempotency-Key": "abc-1"})
    assert first.status_code == 201
    stock_after = stock_of(client, 3)
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 1}, headers=h)
    again = client.post("/api/checkout", headers={**h, "Idempotency-Key": "abc-1"})
    assert again.status_code == 200
    assert again.get_json()["order_id"] == first.get_json()["order_id"]
    assert stock_of(client, 3) == stock_after  # nothing new was sold
    assert len(client.get("/api/orders", headers=h).get_json()["items"]) == 1
    # the same key for another user is another order
    h2 = login(2)
    client.post("/api/cart/items", json={"product_id": 3, "quantity": 1}, headers=h2)
    other = client.post("/api/checkout", headers={**h2, "Idempotency-Key": "abc-1"})
    assert other.status_code == 201
    assert other.get_json()["order_id"] != first.get_json()["order_id"]


def test_bad_idempotency_key_is_400(client: Any, login: Any) -> None:
    resp = client.post("/api/checkout", headers={**login(1), "Idempotency-Key": "k" * 201})
    assert resp.status_code == 400


def test_orders_are_private(client: Any, login: Any) -> None:
    h1, h2 = login(1), login(2)
    client.post("/api/cart/items", json={"product_id": 6, "quantity": 2}, headers=h1)
    order = client.post("/api/checkout", headers=h1).get_json()
    mine = client.get("/api/orders", headers=h1).get_json()["items"]
    assert [o["order_id"] for o in mine] == [order["order_id"]]
    detail = client.get(f"/api/orders/{order['order_id']}", headers=h1).get_json()
    assert detail["lines"] == order["lines"] and detail["source"] == "cart"
    assert client.get("/api/orders", headers=h2).get_json()["items"] == []
    resp = client.get(f"/api/orders/{order['order_id']}", headers=h2)
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    assert client.get("/api/orders/9999", headers=h1).status_code == 404
