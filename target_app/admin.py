"""Admin API: fault knobs, invariant report, deal scheduling.

``X-Admin-Token`` must equal ``STORE_ADMIN_TOKEN``; with no admin token
configured the whole admin API answers 404 (it does not exist).
"""

from __future__ import annotations

import hmac
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request

from target_app import db, faults
from target_app.errors import ApiError, json_body, not_found, validation_error
from target_app.invariants import check_invariants
from target_app.sale import deal_dict

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


@bp.before_request
def _require_admin() -> None:
    expected = current_app.config["ADMIN_TOKEN"]
    if not expected:
        raise ApiError(404, "not_found", "resource not found")
    given = request.headers.get("X-Admin-Token", "")
    if not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise ApiError(403, "forbidden", "a valid X-Admin-Token header is required")


@bp.get("/faults")
def get_faults() -> Response:
    faults.cache(current_app).invalidate()
    return jsonify(faults.cache(current_app).current())


@bp.put("/faults")
def put_faults() -> Response:
    body = json_body()
    current = faults.load(faults.cache(current_app).initial)
    try:
        updated = faults.validate(body, current)
    except ValueError as exc:
        raise ApiError(400, "invalid_faults", str(exc)) from None
    faults.save(updated)
    return jsonify(updated)


@bp.delete("/faults")
def reset_faults() -> Response:
    value = faults.off()
    faults.save(value)
    return jsonify(value)


@bp.get("/invariants")
def invariants() -> Response:
    return jsonify(check_invariants(db.get_engine()))


def _parse_time(body: dict[str, object], name: str) -> datetime | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise validation_error(f"{name} must be an ISO-8601 string")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise validation_error(f"{name} must be an ISO-8601 datetime") from None
    return db.as_utc(value)


@bp.put("/deals/<int:deal_id>")
def schedule_deal(deal_id: int) -> Response:
    body = json_body()
    unknown = set(body) - {"starts_at", "ends_at"}
    if unknown:
        raise validation_error(f"unknown field(s): {', '.join(sorted(unknown))}")
    values = {k: v for k in ("starts_at", "ends_at") if (v := _parse_time(body, k)) is not None}
    if not values:
        raise validation_error("starts_at and/or ends_at required")
    D = db.deals
    with db.write_tx() as conn:
        row = conn.execute(sa.select(D).where(D.c.id == deal_id)).first()
        if row is None:
            raise not_found("deal")
        starts = values.get("starts_at", db.as_utc(row.starts_at))
        ends = values.get("ends_at", db.as_utc(row.ends_at))
        if ends <= starts:
            raise validation_error("ends_at must be after starts_at")
        conn.execute(sa.update(D).where(D.c.id == deal_id).values(**values))
        row = conn.execute(sa.select(D).where(D.c.id == deal_id)).one()
    return jsonify(deal_dict(row))
