"""The shopper's cart (one row per user and product)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, g, jsonify
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from target_app import db
from target_app.auth import login_required
from target_app.errors import MAX_QUANTITY, int_field, json_body, not_found, validation_error

bp = Blueprint("cart", __name__, url_prefix="/api/cart")

C, P = db.cart_items, db.products


def cart_view(conn: Connection, user_id: int) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(C.c.product_id, P.c.name, C.c.quantity, P.c.price_cents)
        .join(P, P.c.id == C.c.product_id)
        .where(C.c.user_id == user_id)
        .order_by(C.c.product_id)
    ).all()
    items = [
        {
            "product_id": r.product_id,
            "name": r.name,
            "quantity": r.quantity,
            "unit_price_cents": r.price_cents,
        }
        for r in rows
    ]
    total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
    return {"items": items, "total_cents": total}


def _upsert(conn: Connection) -> Any:
    """INSERT .. ON CONFLICT for the connection's dialect (SQLite and PostgreSQL)."""
    if db.is_postgres(conn):
        return postgresql.insert(C)
    return sqlite.insert(C)


def _require_product(conn: Connection, product_id: int) -> None:
    if conn.execute(sa.select(P.c.id).where(P.c.id == product_id)).first() is None:
        raise not_found("product")


@bp.get("")
@login_required
def get_cart() -> Response:
    with db.read_conn() as conn:
        return jsonify(cart_view(conn, g.user_id))


@bp.post("/items")
@login_required
def add_item() -> tuple[Response, int]:
    body = json_body()
    product_id = int_field(body, "product_id", low=1, high=2**31 - 1)
    quantity = int_field(body, "quantity", low=1, high=MAX_QUANTITY, default=1)
    with db.write_tx() as conn:
        _require_product(conn, product_id)
        stmt = _upsert(conn).values(user_id=g.user_id, product_id=product_id, quantity=quantity)
        stmt = stmt.on_conflict_do_update(
            index_elements=[C.c.user_id, C.c.product_id],
            set_={"quantity": C.c.quantity + stmt.excluded.quantity},
            where=C.c.quantity + stmt.excluded.quantity <= MAX_QUANTITY,
        )
        if conn.execute(stmt.returning(C.c.quantity)).first() is None:  # WHERE refused it
            raise validation_error(f"at most {MAX_QUANTITY} of one product per cart")
        view = cart_view(conn, g.user_id)
    return jsonify(view), 201


@bp.put("/items/<int:product_id>")
@login_required
def set_item(product_id: int) -> Response:
    quantity = int_field(json_body(), "quantity", low=0, high=MAX_QUANTITY)
    with db.write_tx() as conn:
        _require_product(conn, product_id)
        if quantity == 0:
            conn.execute(
                sa.delete(C).where((C.c.user_id == g.user_id) & (C.c.product_id == product_id))
            )
        else:
            stmt = _upsert(conn).values(user_id=g.user_id, product_id=product_id, quantity=quantity)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[C.c.user_id, C.c.product_id],
                    set_={"quantity": stmt.excluded.quantity},
                )
            )
        view = cart_view(conn, g.user_id)
    return jsonify(view)


@bp.delete("/items/<int:product_id>")
@login_required
def remove_item(product_id: int) -> Response:
    with db.write_tx() as conn:
        conn.execute(
            sa.delete(C).where((C.c.user_id == g.user_id) & (C.c.product_id == product_id))
        )
        view = cart_view(conn, g.user_id)
    return jsonify(view)
