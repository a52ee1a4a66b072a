"""Liveness, readiness and metrics (exempt from fault injection)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from target_app import db, metrics

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> Response | tuple[Response, int]:
    try:
        with db.read_conn() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("not ready: %s", exc.__class__.__name__)
        return jsonify({"error": "not_ready", "message": "the database is unreachable"}), 503
    return jsonify({"status": "ready"})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    return metrics.render()
