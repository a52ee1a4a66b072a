"""Checkout: the whole cart becomes one order in ONE transaction, or nothing changes.

Stock is decremented with a conditional ``UPDATE .. WHERE stock >= :q`` per line
(rows in product-id order, so concurrent checkouts lock in the same order);
a zero rowcount aborts the transaction with 409 ``out_of_stock``. A repeated
``Idempotency-Key`` returns the first order: the UNIQUE(user_id,
idempotency_key) constraint settles concurrent duplicates.

``UNSAFE_STOCK`` (test-only, see ``target_app.sale``) reads the stock first and
writes ``stock - q`` unconditionally later: the broken build that oversells.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify, request

from target_app import db, metrics
from target_app.auth import login_required
from target_app.errors import ApiError
from target_app.orders import find_by_key, load_order

bp = Blueprint("checkout", __name__, url_prefix="/api")

MAX_KEY = 200


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise ApiError(400, "bad_request", f"Idempotency-Key must be 1 to {MAX_KEY} characters")
    return key


def replay(user_id: int, key: str) -> dict[str, Any] | None:
    with db.read_conn() as conn:
        return find_by_key(conn, user_id, key)


@bp.post("/checkout")
@login_required
def checkout() -> tuple[Response, int]:
    uid, key = g.user_id, idempotency_key()
    if key and (previous := replay(uid, key)):
        return jsonify(previous), 200
    try:
        order, created = _place_order(uid, key)
    except sa.exc.IntegrityError:
        # A concurrent request with the same Idempotency-Key committed first.
        if key and (previous := replay(uid, key)):
            return jsonify(previous), 200
        raise
    if created:
        metrics.ORDERS.labels("cart").inc()
    return jsonify(order), 201 if created else 200


def _place_order(uid: int, key: str | None) -> tuple[dict[str, Any], bool]:
    """(order, created): one transaction; ApiError rolls everything back."""
    C, P = db.cart_items, db.products
    unsafe_stock: dict[int, int] | None = None
    if current_app.config["UNSAFE_STOCK"]:
        with db.read_conn() as conn:
            unsafe_stock = {
                row.id: row.stock
                for row in conn.execute(
                    sa.select(P.c.id, P.c.stock)
                    .join(C, C.c.product_id == P.c.id)
                    .where(C.c.user_id == uid)
                )
            }
        time.sleep(current_app.config["UNSAFE_STOCK_RACE_S"])  # widen the race window
    with db.write_tx() as conn:
        cart = conn.execute(
            sa.select(C.c.product_id, C.c.quantity, P.c.price_cents)
            .join(P, P.c.id == C.c.product_id)
            .where(C.c.user_id == uid)
            .order_by(C.c.product_id)
            .with_for_update(of=C)
        ).all()
        if key and (previous := find_by_key(conn, uid, key)):
            return previous, False  # a duplicate committed while we waited for the lock
        if not cart:
            raise ApiError(400, "empty_cart", "the cart is empty")
        total = sum(r.quantity * r.price_cents for r in cart)
        order_id = db.insert_order(
            conn, user_id=uid, total_cents=total, key=key, source="cart", now=db.utcnow()
        )
        for r in cart:
            if unsafe_stock is not None:  # TEST ONLY: the lost-update bug, on purpose
                seen = unsafe_stock.get(r.product_id, 0)
                if seen < r.quantity:
                    raise ApiError(409, "out_of_stock", "not enough stock", product_id=r.product_id)
                conn.execute(
                    sa.update(P).where(P.c.id == r.product_id).values(stock=seen - r.quantity)
                )
                continue
            done = conn.execute(
                sa.update(P)
                .where((P.c.id == r.product_id) & (P.c.stock >= r.quantity))
                .values(stock=P.c.stock - r.quantity)
            )
            if done.rowcount != 1:
                raise ApiError(409, "out_of_stock", "not enough stock", product_id=r.product_id)
        conn.execute(
            sa.insert(db.order_lines),
            [
                {
                    "order_id": order_id,
                    "product_id": r.product_id,
                    "quantity": r.quantity,
                    "unit_price_cents": r.price_cents,
                }
                for r in cart
            ],
        )
        conn.execute(sa.delete(C).where(C.c.user_id == uid))
        order = load_order(conn, order_id, uid)
    assert order is not None
    return order, True
