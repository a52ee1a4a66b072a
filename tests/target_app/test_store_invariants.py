"""The invariant checker: clean on a fresh seed, finds every corruption planted by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from target_app import db
from target_app.invariants import CHECKS, check_invariants
from target_app.seed import SeedOptions, seed_database


def test_fresh_seed_is_clean(engine: Any) -> None:
    report = check_invariants(engine)
    assert report == {
        "ok": True,
        "problems": [],
        "checked": list(CHECKS),
        "stats": report["stats"],
    }
    assert report["stats"]["orders"] == 0 and report["stats"]["deal_units_remaining"] == 5
    with engine.connect() as conn:  # also accepts a connection
        assert check_invariants(conn)["ok"]


def test_seeding_is_deterministic(engine: Any, tmp_path: Any) -> None:
    other = db.make_engine(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    seed_database(other, SeedOptions(products=24, users=3, deal_stock=5, deal_per_user_limit=2))
    query = sa.select(db.products).order_by(db.products.c.id)
    with engine.connect() as a, other.connect() as b:
        assert a.execute(query).all() == b.execute(query).all()
    other.dispose()


def _order(conn: Any, *, user: int = 1, key: str | None = None, total: int = 100) -> int:
    return int(
        conn.execute(
            sa.insert(db.orders)
            .values(
                user_id=user,
                status="placed",
                total_cents=total,
                idempotency_key=key,
                source="cart",
                created_at=db.utcnow(),
            )
            .returning(db.orders.c.id)
        ).scalar_one()
    )


def negative_stock(conn: Any) -> None:
    conn.execute(
        sa.update(db.products)
        .where(db.products.c.id == 2)
        .values(stock=-1, initial_stock=db.products.c.initial_stock - db.products.c.stock - 1)
    )


def stock_vanished(conn: Any) -> None:
    conn.execute(sa.update(db.products).where(db.products.c.id == 3).values(stock=0))


def oversold_deal(conn: Any) -> None:
    conn.execute(sa.update(db.deals).values(remaining=-1))


def miscounted_deal(conn: Any) -> None:
    conn.execute(sa.update(db.deals).values(remaining=db.deals.c.remaining - 1))


def over_limit(conn: Any) -> None:
    for _ in range(3):
        oid = _order(conn, total=10)
        conn.execute(
            sa.insert(db.order_lines).values(
                order_id=oid, product_id=1, quantity=1, unit_price_cents=10
            )
        )
        conn.execute(
            sa.insert(db.deal_claims).values(
                deal_id=1, user_id=1, order_id=oid, quantity=1, created_at=db.utcnow()
            )
        )
    conn.execute(sa.update(db.orders).values(source="deal"))
    conn.execute(sa.update(db.deals).values(remaining=db.deals.c.remaining - 3))


def order_without_lines(conn: Any) -> None:
    _order(conn)


def duplicate_idempotency(conn: Any) -> None:
    # Remove the UNIQUE(user_id, idempotency_key) guard that normally prevents this.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE orders DROP CONSTRAINT uq_orders_user_idempotency")
    else:  # SQLite cannot drop a table constraint: rebuild the (empty) table without it
        conn.exec_driver_sql(
            "CREATE TABLE orders_copy (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, "
            "status VARCHAR(20) NOT NULL, total_cents INTEGER NOT NULL, "
            "idempotency_key VARCHAR(200), source VARCHAR(10) NOT NULL, "
            "created_at DATETIME NOT NULL)"
        )
        conn.exec_driver_sql("DROP TABLE orders")
        conn.exec_driver_sql("ALTER TABLE orders_copy RENAME TO orders")
    for _ in range(2):
        oid = _order(conn, key="same", total=0)
        conn.execute(
            sa.insert(db.order_lines).values(
                order_id=oid, product_id=5, quantity=0, unit_price_cents=1
            )
        )


def wrong_total(conn: Any) -> None:
    oid = _order(conn, total=999)
    conn.execute(
        sa.insert(db.order_lines).values(order_id=oid, product_id=5, quantity=0, unit_price_cents=7)
    )


@pytest.mark.parametrize(
    ("corrupt", "needle"),
    [
        (negative_stock, "negative stock: product 2"),
        (stock_vanished, "stock accounting: product 3"),
        (oversold_deal, "deal oversold or miscounted: deal 1"),
        (miscounted_deal, "deal oversold or miscounted: deal 1"),
        (over_limit, "per-user limit: deal 1 user 1 claimed 3 > limit 2"),
        (order_without_lines, "has no lines"),
        (duplicate_idempotency, "duplicate orders: user 1 idempotency key 'same' has 2 orders"),
        (wrong_total, "total 999 != sum of its lines 0"),
    ],
)
def test_planted_corruption_is_found(
    engine: Any, corrupt: Callable[[Any], None], needle: str
) -> None:
    with engine.begin() as conn:
        corrupt(conn)
    report = check_invariants(engine)
    assert report["ok"] is False
    assert any(needle in problem for problem in report["problems"]), report["problems"]
