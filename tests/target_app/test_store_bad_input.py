"""Hostile and malformed requests: a 4xx JSON answer and an unchanged database."""

from __future__ import annotations

from typing import Any

import pytest

CASES = [
    # (method, path, kwargs, status, error)
    ("post", "/api/cart/items", {"data": "{not json"}, 400, "invalid_json"),
    ("post", "/api/cart/items", {"data": ""}, 400, "invalid_json"),
    ("post", "/api/cart/items", {"json": [1, 2]}, 400, "invalid_json"),
    ("post", "/api/cart/items", {"data": b"\xff\xfe"}, 400, "invalid_json"),
    ("post", "/api/cart/items", {"json": {"product_id": "3"}}, 422, "validation_error"),
    ("post", "/api/cart/items", {"json": {"product_id": 3.5}}, 422, "validation_error"),
    ("post", "/api/cart/items", {"json": {"product_id": True}}, 422, "validation_error"),
    ("post", "/api/cart/items", {"json": {"product_id": None}}, 422, "validation_error"),
    (
        "post",
        "/api/cart/items",
        {"json": {"product_id": 3, "quantity": -1}},
        422,
        "validation_error",
    ),
    (
        "post",
        "/api/cart/items",
        {"json": {"product_id": 3, "quantity": 0}},
        422,
        "validation_error",
    ),
    (
        "post",
        "/api/cart/items",
        {"json": {"product_id": 3, "quantity": 101}},
        422,
        "validation_error",
    ),
    (
        "post",
        "/api/cart/items",
        {"json": {"product_id": 3, "quantity": "2"}},
        422,
        "validation_error",
    ),
    ("post", "/api/cart/items", {"json": {"product_id": -3}}, 422, "validation_error"),
    ("post", "/api/cart/items", {"json": {"product_id": 2**40}}, 422, "validation_error"),
    ("post", "/api/cart/items", {"json": {"product_id": 9999}}, 404, "not_found"),
    ("put", "/api/cart/items/3", {"json": {"quantity": -2}}, 422, "validation_error"),
    ("put", "/api/cart/items/3", {"json": {}}, 422, "validation_error"),
    ("put", "/api/cart/items/9999", {"json": {"quantity": 1}}, 404, "not_found"),
    ("put", "/api/cart/items/-1", {"json": {"quantity": 1}}, 404, "not_found"),
    ("post", "/api/deals/1/claim", {"json": {"quantity": -1}}, 422, "validation_error"),
    ("post", "/api/deals/1/claim", {"data": "nope"}, 400, "invalid_json"),
    ("post", "/api/auth/login", {"data": "{"}, 400, "invalid_json"),
    ("post", "/api/auth/register", {"json": "a string"}, 400, "invalid_json"),
    ("post", "/api/checkout", {"headers": {"Idempotency-Key": "k" * 201}}, 400, "bad_request"),
    ("post", "/api/cart/items", {"data": "x" * (65 * 1024)}, 413, "request_entity_too_large"),
    ("post", "/api/auth/register", {"data": "{" * (70 * 1024)}, 413, "request_entity_too_large"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    CASES,
    ids=[f"{m}-{p}-{s}-{i}" for i, (m, p, _, s, _e) in enumerate(CASES)],
)
def test_bad_input_is_4xx_json_and_changes_nothing(
    client: Any,
    login: Any,
    snapshot: Any,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    error: str,
) -> None:
    kwargs = dict(kwargs)  # CASES is shared between parameters
    headers = {**login(1), "Content-Type": "application/json", **kwargs.pop("headers", {})}
    before = snapshot()
    resp = getattr(client, method)(path, headers=headers, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    assert resp.get_json()["error"] == error
    assert snapshot() == before
