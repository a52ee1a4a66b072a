"""Categories, product listing, product detail and search (read-only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request

from target_app import db
from target_app.errors import ApiError, int_arg, not_found

bp = Blueprint("catalog", __name__, url_prefix="/api")

P = db.products
LIST_COLUMNS = (P.c.id, P.c.sku, P.c.name, P.c.category, P.c.price_cents, P.c.stock)
MAX_QUERY = 100


def product_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "category": row.category,
        "price_cents": row.price_cents,
        "stock": row.stock,
    }


@bp.get("/categories")
def list_categories() -> Response:
    with db.read_conn() as conn:
        rows = conn.execute(sa.select(db.categories).order_by(db.categories.c.slug)).all()
    return jsonify({"items": [{"slug": r.slug, "name": r.name} for r in rows]})


@bp.get("/products")
def list_products() -> Response:
    page = int_arg("page", 1, low=1, high=1_000_000)
    per_page = int_arg("per_page", 20, low=1, high=100)
    category = request.args.get("category")
    query = sa.select(*LIST_COLUMNS).order_by(P.c.id)
    count = sa.select(sa.func.count()).select_from(P)
    if category:
        query = query.where(P.c.category == category)
        count = count.where(P.c.category == category)
    with db.read_conn() as conn:
        total = conn.execute(count).scalar_one()
        rows = conn.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify(
        {
            "items": [product_dict(r) for r in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@bp.get("/products/<int:product_id>")
def get_product(product_id: int) -> Response:
    with db.read_conn() as conn:
        row = conn.execute(
            sa.select(*LIST_COLUMNS, P.c.description).where(P.c.id == product_id)
        ).first()
    if row is None:
        raise not_found("product")
    return jsonify({**product_dict(row), "description": row.description})


@bp.get("/products/search")
def search_products() -> Response:
    q = request.args.get("q", "").strip()
    if not q:
        raise ApiError(400, "bad_request", "q is required")
    if len(q) > MAX_QUERY:
        raise ApiError(400, "bad_request", f"q must be at most {MAX_QUERY} characters")
    limit = int_arg("limit", 20, low=1, high=100)
    query = (
        sa.select(*LIST_COLUMNS)
        .where(sa.func.lower(P.c.name).contains(q.lower(), autoescape=True))
        .order_by(P.c.id)
        .limit(limit)
    )
    with db.read_conn() as conn:
        rows = conn.execute(query).all()
    return jsonify({"items": [product_dict(r) for r in rows]})
