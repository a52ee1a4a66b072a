"""The store's invariants, checked straight in the database.

Stock accounting: seeding moves a deal's units out of its product, so for every
product ``initial_stock == stock + units sold by cart orders + units of its deals``
(deal units sold are tracked by the deal: ``stock - remaining == units claimed``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from target_app import db

OR, L, P, D, DC = db.orders, db.order_lines, db.products, db.deals, db.deal_claims
CHECKS = (
    "no_negative_stock",
    "product_stock_accounting",
    "deal_remaining_accounting",
    "deal_per_user_limit",
    "orders_have_lines",
    "unique_idempotency_keys",
    "order_totals_match_lines",
)
MAX_LISTED = 20


def check_invariants(target: Engine | Connection) -> dict[str, Any]:
    """Run every check; JSON-able ``{"ok", "problems", "checked", "stats"}``."""
    if isinstance(target, Engine):
        with target.connect() as conn:
            return _check(conn)
    return _check(target)


def _check(conn: Connection) -> dict[str, Any]:
    problems: list[str] = []

    def report(rows: Any, fmt: str) -> None:
        for i, row in enumerate(rows):
            if i >= MAX_LISTED:
                problems.append(f"... and more ({fmt.split(':')[0]})")
                break
            problems.append(fmt.format(*row))

    report(
        conn.execute(sa.select(P.c.id, P.c.stock).where(P.c.stock < 0)),
        "negative stock: product {} has stock {}",
    )
    cart_sold = (
        sa.select(L.c.product_id, sa.func.sum(L.c.quantity).label("n"))
        .join(OR, OR.c.id == L.c.order_id)
        .where(OR.c.source == "cart")
        .group_by(L.c.product_id)
        .subquery()
    )
    reserved = (
        sa.select(D.c.product_id, sa.func.sum(D.c.stock).label("n"))
        .group_by(D.c.product_id)
        .subquery()
    )
    sold = sa.func.coalesce(cart_sold.c.n, 0)
    held = sa.func.coalesce(reserved.c.n, 0)
    report(
        conn.execute(
            sa.select(P.c.id, P.c.initial_stock, P.c.stock, sold, held)
            .outerjoin(cart_sold, cart_sold.c.product_id == P.c.id)
            .outerjoin(reserved, reserved.c.product_id == P.c.id)
            .where(P.c.initial_stock != P.c.stock + sold + held)
        ),
        "stock accounting: product {} initial_stock {} != stock {} + sold {} + deal units {}",
    )
    claimed = (
        sa.select(DC.c.deal_id, sa.func.sum(DC.c.quantity).label("n"))
        .group_by(DC.c.deal_id)
        .subquery()
    )
    n_claimed = sa.func.coalesce(claimed.c.n, 0)
    report(
        conn.execute(
            sa.select(D.c.id, D.c.stock, D.c.remaining, n_claimed)
            .outerjoin(claimed, claimed.c.deal_id == D.c.id)
            .where((D.c.remaining < 0) | (D.c.stock - D.c.remaining != n_claimed))
        ),
        "deal oversold or miscounted: deal {} stock {} remaining {} but {} units claimed",
    )
    report(
        conn.execute(
            sa.select(DC.c.deal_id, DC.c.user_id, sa.func.sum(DC.c.quantity), D.c.per_user_limit)
            .join(D, D.c.id == DC.c.deal_id)
            .group_by(DC.c.deal_id, DC.c.user_id, D.c.per_user_limit)
            .having(sa.func.sum(DC.c.quantity) > D.c.per_user_limit)
        ),
        "per-user limit: deal {} user {} claimed {} > limit {}",
    )
    report(
        conn.execute(
            sa.select(OR.c.id).where(~sa.exists().where(L.c.order_id == OR.c.id)).order_by(OR.c.id)
        ),
        "order {} has no lines",
    )
    report(
        conn.execute(
            sa.select(OR.c.user_id, OR.c.idempotency_key, sa.func.count())
            .where(OR.c.idempotency_key.is_not(None))
            .group_by(OR.c.user_id, OR.c.idempotency_key)
            .having(sa.func.count() > 1)
        ),
        "duplicate orders: user {} idempotency key {!r} has {} orders",
    )
    line_totals = (
        sa.select(L.c.order_id, sa.func.sum(L.c.quantity * L.c.unit_price_cents).label("t"))
        .group_by(L.c.order_id)
        .subquery()
    )
    report(
        conn.execute(
            sa.select(OR.c.id, OR.c.total_cents, line_totals.c.t)
            .join(line_totals, line_totals.c.order_id == OR.c.id)
            .where(OR.c.total_cents != line_totals.c.t)
        ),
        "order {} total {} != sum of its lines {}",
    )
    stats = {
        "orders": conn.execute(sa.select(sa.func.count()).select_from(OR)).scalar_one(),
        "cart_orders": conn.execute(
            sa.select(sa.func.count()).select_from(OR).where(OR.c.source == "cart")
        ).scalar_one(),
        "deal_orders": conn.execute(
            sa.select(sa.func.count()).select_from(OR).where(OR.c.source == "deal")
        ).scalar_one(),
        "cart_units_sold": conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(L.c.quantity), 0))
            .join(OR, OR.c.id == L.c.order_id)
            .where(OR.c.source == "cart")
        ).scalar_one(),
        "deal_units_claimed": conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(DC.c.quantity), 0))
        ).scalar_one(),
        "deal_units_remaining": conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(D.c.remaining), 0))
        ).scalar_one(),
        "products": conn.execute(sa.select(sa.func.count()).select_from(P)).scalar_one(),
        "users": conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one(),
    }
    return {
        "ok": not problems,
        "problems": problems,
        "checked": list(CHECKS),
        "stats": {k: int(v) for k, v in stats.items()},
    }
