"""Registration, login and bearer tokens (itsdangerous, signed with SECRET_KEY)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from target_app import db
from target_app.errors import ApiError, json_body, validation_error
from target_app.ratelimit import FixedWindowLimiter

bp = Blueprint("auth", __name__, url_prefix="/api/auth")

F = TypeVar("F", bound=Callable[..., Any])
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,}$")
_SALT = "dhakacart-auth"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(user_id: int) -> str:
    return _serializer().dumps({"uid": user_id})


def user_id_from_token(token: str) -> int | None:
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE_S"])
    except BadSignature:  # includes SignatureExpired
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def login_required(view: F) -> F:
    """401 ``unauthorized`` unless ``Authorization: Bearer <valid token>``; sets g.user_id."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        uid = user_id_from_token(token.strip()) if scheme.lower() == "bearer" else None
        if uid is None:
            raise ApiError(401, "unauthorized", "a valid bearer token is required")
        g.user_id = uid
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _rate_limit(bucket: str) -> None:
    limiter: FixedWindowLimiter | None = current_app.extensions.get("dhakacart_ratelimit")
    if limiter is None:
        return
    wait = limiter.hit(request.remote_addr or "?", bucket)
    if wait is not None:
        err = ApiError(429, "rate_limited", "too many attempts, retry later")
        err.headers["Retry-After"] = limiter.retry_after_header(wait)
        raise err


def _credentials() -> tuple[str, str]:
    body = json_body()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise validation_error("email and password must be strings")
    return email.strip().lower(), password


@bp.post("/register")
def register() -> tuple[Response, int]:
    _rate_limit("register")
    email, password = _credentials()
    if not _EMAIL.match(email):
        raise validation_error("email is not a valid address")
    if not 8 <= len(password) <= 128:
        raise validation_error("password must be 8 to 128 characters")
    pw_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH"])
    try:
        with db.write_tx() as conn:
            uid = conn.execute(
                sa.insert(db.users)
                .values(email=email, password_hash=pw_hash, created_at=db.utcnow())
                .returning(db.users.c.id)
            ).scalar_one()
    except sa.exc.IntegrityError:
        raise ApiError(409, "email_taken", "an account with this email exists") from None
    return jsonify({"user_id": uid, "token": make_token(uid)}), 201


@bp.post("/login")
def login() -> Response:
    _rate_limit("login")
    email, password = _credentials()
    with db.read_conn() as conn:
        row = conn.execute(
            sa.select(db.users.c.id, db.users.c.password_hash).where(db.users.c.email == email)
        ).first()
    if row is None or not check_password_hash(row.password_hash, password):
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    return jsonify({"user_id": row.id, "token": make_token(row.id)})
