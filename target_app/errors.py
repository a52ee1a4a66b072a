"""JSON errors: one shape, ``{"error": "<code>", "message": "..."}``, the right status."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MAX_QUANTITY = 100


class ApiError(Exception):
    """An error response with a stable code; extra keyword fields go into the body."""

    def __init__(self, status: int, code: str, message: str = "", **extra: Any) -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code.replace("_", " ")
        self.extra = extra
        self.headers: dict[str, str] = {}

    def response(self) -> Response:
        body = {"error": self.code, "message": self.message, **self.extra}
        resp = jsonify(body)
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def validation_error(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (400 ``invalid_json`` otherwise)."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "invalid_json", "a JSON object body is required")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def int_field(
    body: dict[str, Any], name: str, *, low: int, high: int, default: int | None = None
) -> int:
    """An integer field in [low, high] (422 otherwise); booleans are not integers."""
    if name not in body:
        if default is not None:
            return default
        raise validation_error(f"{name} is required")
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(f"{name} must be an integer")
    if not low <= value <= high:
        raise validation_error(f"{name} must be between {low} and {high}")
    return value


def int_arg(name: str, default: int, *, low: int, high: int) -> int:
    """An integer query-string argument in [low, high] (400 ``bad_request`` otherwise)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name} must be between {low} and {high}")
    return value


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        resp = jsonify({"error": code, "message": exc.description or exc.name})
        resp.status_code = exc.code or 500
        valid_methods = getattr(exc, "valid_methods", None)
        if exc.code == 405 and valid_methods:
            resp.headers["Allow"] = ", ".join(valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        resp = jsonify({"error": "internal_error", "message": "internal server error"})
        resp.status_code = 500
        return resp
