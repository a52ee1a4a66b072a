"""The shopper's orders; also the order (de)serialisation shared by checkout and sale."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, g, jsonify
from sqlalchemy.engine import Connection

from target_app import db
from target_app.auth import login_required
from target_app.errors import not_found

bp = Blueprint("orders", __name__, url_prefix="/api/orders")

OR, L = db.orders, db.order_lines


def load_orders(conn: Connection, where: Any) -> list[dict[str, Any]]:
    """Orders matching ``where`` (newest first), each with its lines."""
    rows = conn.execute(sa.select(OR).where(where).order_by(OR.c.id.desc())).all()
    if not rows:
        return []
    lines: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    for line in conn.execute(
        sa.select(
            L.c.order_id, L.c.product_id, db.products.c.name, L.c.quantity, L.c.unit_price_cents
        )
        .join(db.products, db.products.c.id == L.c.product_id)
        .where(L.c.order_id.in_(list(lines)))
        .order_by(L.c.order_id, L.c.product_id)
    ):
        lines[line.order_id].append(
            {
                "product_id": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
            }
        )
    return [
        {
            "order_id": r.id,
            "status": r.status,
            "total_cents": r.total_cents,
            "source": r.source,
            "idempotency_key": r.idempotency_key,
            "created_at": db.iso(r.created_at),
            "lines": lines[r.id],
        }
        for r in rows
    ]


def load_order(conn: Connection, order_id: int, user_id: int) -> dict[str, Any] | None:
    found = load_orders(conn, (OR.c.id == order_id) & (OR.c.user_id == user_id))
    return found[0] if found else None


def find_by_key(conn: Connection, user_id: int, key: str) -> dict[str, Any] | None:
    found = load_orders(conn, (OR.c.user_id == user_id) & (OR.c.idempotency_key == key))
    return found[0] if found else None


@bp.get("")
@login_required
def list_orders() -> Response:
    with db.read_conn() as conn:
        return jsonify({"items": load_orders(conn, OR.c.user_id == g.user_id)})


@bp.get("/<int:order_id>")
@login_required
def get_order(order_id: int) -> Response:
    with db.read_conn() as conn:
        order = load_order(conn, order_id, g.user_id)
    if order is None:
        raise not_found("order")
    return jsonify(order)
