"""Flash-sale deals: list them, claim units.

A claim is one transaction: a conditional ``UPDATE deals SET remaining =
remaining - :q WHERE remaining >= :q`` (on PostgreSQL it also locks the deal
row, serialising the claimers of that deal; on SQLite ``BEGIN IMMEDIATE`` does),
then the per-user check, then order + order line + claim rows. Any refusal
rolls the decrement back, so exactly ``stock`` units can ever be claimed.

``UNSAFE_STOCK`` (``STORE_UNSAFE_STOCK=1``, test-only, refused in production) swaps
in a deliberately broken claim: read ``remaining``, pause, then write ``remaining -
q`` unconditionally in a later transaction — the lost-update race that oversells.
It exists so tests can prove the invariant checker catches it.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify
from sqlalchemy.engine import Connection

from target_app import db, metrics
from target_app.auth import login_required
from target_app.checkout import idempotency_key
from target_app.errors import MAX_QUANTITY, ApiError, int_field, json_body, not_found

bp = Blueprint("sale", __name__, url_prefix="/api/deals")

D, DC = db.deals, db.deal_claims


def is_active(row: Any, now: datetime) -> bool:
    return db.as_utc(row.starts_at) <= now < db.as_utc(row.ends_at)


def deal_dict(row: Any, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "product_id": row.product_id,
        "title": row.title,
        "price_cents": row.price_cents,
        "stock": row.stock,
        "remaining": row.remaining,
        "per_user_limit": row.per_user_limit,
        "starts_at": db.iso(row.starts_at),
        "ends_at": db.iso(row.ends_at),
        "active": is_active(row, now or db.utcnow()),
    }


@bp.get("")
def list_deals() -> Response:
    with db.read_conn() as conn:
        rows = conn.execute(sa.select(D).order_by(D.c.id)).all()
    now = db.utcnow()
    return jsonify({"items": [deal_dict(r, now) for r in rows]})


def _claim_for_key(conn: Connection, uid: int, key: str) -> dict[str, Any] | None:
    order_id = conn.execute(
        sa.select(db.orders.c.id).where(
            (db.orders.c.user_id == uid) & (db.orders.c.idempotency_key == key)
        )
    ).scalar()
    if order_id is None:
        return None
    claim = conn.execute(sa.select(DC).where(DC.c.order_id == order_id)).first()
    if claim is None:
        raise ApiError(409, "idempotency_key_reused", "this key was used for another request")
    return {"order_id": order_id, "deal_id": claim.deal_id, "quantity": claim.quantity}


@bp.post("/<int:deal_id>/claim")
@login_required
def claim(deal_id: int) -> tuple[Response, int]:
    uid, key = g.user_id, idempotency_key()
    quantity = int_field(json_body(optional=True), "quantity", low=1, high=MAX_QUANTITY, default=1)
    try:
        result, created = _claim(deal_id, uid, key, quantity)
    except sa.exc.IntegrityError:
        if key:
            with db.read_conn() as conn:
                previous = _claim_for_key(conn, uid, key)
            if previous:
                return jsonify(previous), 200
        raise
    if created:
        metrics.ORDERS.labels("deal").inc()
        metrics.DEAL_UNITS.inc(quantity)
    return jsonify(result), 201 if created else 200


class _Replay(Exception):
    def __init__(self, previous: dict[str, Any]) -> None:
        super().__init__("replay")
        self.previous = previous


def _claim(deal_id: int, uid: int, key: str | None, quantity: int) -> tuple[dict[str, Any], bool]:
    if current_app.config["UNSAFE_STOCK"]:
        return _claim_unsafe(deal_id, uid, key, quantity)
    try:
        return _claim_tx(deal_id, uid, key, quantity)
    except _Replay as replay:
        return replay.previous, False


def _check_claimable(deal: Any, now: Any, quantity: int) -> Any:
    """Refuse a claim of an unknown or inactive deal, or above the per-user limit; return it."""
    if deal is None:
        raise not_found("deal")
    if not is_active(deal, now):
        raise ApiError(409, "deal_not_active", "the deal has not started or has ended")
    if quantity > deal.per_user_limit:
        raise ApiError(409, "limit_reached", f"at most {deal.per_user_limit} per shopper")
    return deal


def _claim_tx(
    deal_id: int, uid: int, key: str | None, quantity: int
) -> tuple[dict[str, Any], bool]:
    now = db.utcnow()
    with db.write_tx() as conn:
        if key and (previous := _claim_for_key(conn, uid, key)):
            return previous, False
        deal = conn.execute(sa.select(D).where(D.c.id == deal_id)).first()
        deal = _check_claimable(deal, now, quantity)
        taken = conn.execute(
            sa.update(D)
            .where((D.c.id == deal_id) & (D.c.remaining >= quantity))
            .values(remaining=D.c.remaining - quantity)
        )
        if taken.rowcount != 1:
            raise ApiError(409, "sold_out", "the deal is sold out")
        # The deal row is now locked by this transaction: the count below is stable.
        if key and (previous := _claim_for_key(conn, uid, key)):
            raise _Replay(previous)  # rolls the decrement back
        order_id = _record_claim(conn, deal, deal_id, uid, key, quantity, now)
    return {"order_id": order_id, "deal_id": deal_id, "quantity": quantity}, True


def _record_claim(
    conn: Any, deal: Any, deal_id: int, uid: int, key: str | None, quantity: int, now: Any
) -> int:
    """Inside the claim's transaction: enforce the per-user limit, write order, line, claim."""
    already = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(DC.c.quantity), 0)).where(
            (DC.c.deal_id == deal_id) & (DC.c.user_id == uid)
        )
    ).scalar_one()
    if already + quantity > deal.per_user_limit:
        raise ApiError(409, "limit_reached", f"at most {deal.per_user_limit} per shopper")
    order_id = db.insert_order(
        conn,
        user_id=uid,
        total_cents=deal.price_cents * quantity,
        key=key,
        source="deal",
        now=now,
    )
    conn.execute(
        sa.insert(db.order_lines).values(
            order_id=order_id,
            product_id=deal.product_id,
            quantity=quantity,
            unit_price_cents=deal.price_cents,
        )
    )
    conn.execute(
        sa.insert(DC).values(
            deal_id=deal_id, user_id=uid, order_id=order_id, quantity=quantity, created_at=now
        )
    )
    return order_id


def _claim_unsafe(
    deal_id: int, uid: int, key: str | None, quantity: int
) -> tuple[dict[str, Any], bool]:
    """TEST ONLY (``UNSAFE_STOCK``): the non-atomic read-then-write that oversells."""
    now = db.utcnow()
    with db.read_conn() as conn:
        if key and (previous := _claim_for_key(conn, uid, key)):
            return previous, False
        deal = conn.execute(sa.select(D).where(D.c.id == deal_id)).first()
    deal = _check_claimable(deal, now, quantity)
    if deal.remaining < quantity:
        raise ApiError(409, "sold_out", "the deal is sold out")
    time.sleep(current_app.config["UNSAFE_STOCK_RACE_S"])  # widen the race window
    with db.write_tx() as conn:
        # The bug on purpose: the value read before, minus q, written unconditionally.
        conn.execute(
            sa.update(D).where(D.c.id == deal_id).values(remaining=deal.remaining - quantity)
        )
        order_id = _record_claim(conn, deal, deal_id, uid, key, quantity, now)
    return {"order_id": order_id, "deal_id": deal_id, "quantity": quantity}, True
