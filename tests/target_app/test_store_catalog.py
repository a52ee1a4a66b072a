"""Health, metrics and the read-only catalogue API."""

from __future__ import annotations

from typing import Any

import pytest

from target_app.catalog import MAX_QUERY


def test_health_and_ready(client: Any) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}
    resp = client.get("/ready")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ready"}


def test_ready_is_503_when_the_database_is_gone(app_config: dict[str, Any]) -> None:
    from target_app import create_app

    app = create_app({**app_config, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    resp = app.test_client().get("/ready")
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "not_ready"
    app.extensions["dhakacart_db"].dispose()


def test_metrics_use_url_rules_not_raw_paths(client: Any) -> None:
    client.get("/api/products/3")
    client.get("/api/products/4")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/api/products/<int:product_id>"' in text
    assert 'endpoint="/api/products/3"' not in text
    assert "dhakacart_http_request_duration_seconds_bucket" in text
    assert "dhakacart_orders_placed_total" in text


def test_categories(client: Any) -> None:
    items = client.get("/api/categories").get_json()["items"]
    assert len(items) == 8
    assert {"slug": "phones", "name": "Smartphones"} in items


def test_products_pagination_and_category(client: Any) -> None:
    body = client.get("/api/products?page=2&per_page=5").get_json()
    assert body["page"] == 2 and body["per_page"] == 5 and body["total"] == 24
    assert [p["id"] for p in body["items"]] == [6, 7, 8, 9, 10]
    assert set(body["items"][0]) == {"id", "sku", "name", "category", "price_cents", "stock"}
    phones = client.get("/api/products?category=phones&per_page=100").get_json()
    assert phones["total"] == 3
    assert {p["category"] for p in phones["items"]} == {"phones"}
    beyond = client.get("/api/products?page=99").get_json()
    assert beyond["items"] == [] and beyond["total"] == 24


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "per_page=101", "per_page=0", "per_page=-5", "page=1.5"]
)
def test_products_bad_paging_is_400(client: Any, query: str) -> None:
    resp = client.get(f"/api/products?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"


def test_product_detail_and_404(client: Any) -> None:
    body = client.get("/api/products/1").get_json()
    assert body["id"] == 1 and body["category"] == "phones" and body["description"]
    resp = client.get("/api/products/9999")
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "not_found"


def test_search_is_case_insensitive(client: Any) -> None:
    name = client.get("/api/products/2").get_json()["name"]
    word = name.split()[0]
    items = client.get(f"/api/products/search?q={word.upper()}").get_json()["items"]
    assert items and all(word.lower() in p["name"].lower() for p in items)
    assert len(client.get(f"/api/products/search?q={word}&limit=1").get_json()["items"]) == 1


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        "%",
        "_",
        "'; DROP TABLE products; --",
        '" UNION SELECT email, password_hash FROM users --',
    ],
)
def test_search_injection_strings_match_nothing(client: Any, q: str, snapshot: Any) -> None:
    before = snapshot()
    resp = client.get("/api/products/search", query_string={"q": q})
    assert resp.status_code == 200
    assert resp.get_json() == {"items": []}
    assert snapshot() == before


@pytest.mark.parametrize("q", ["", "   ", "x" * (MAX_QUERY + 1)])
def test_search_requires_a_sensible_q(client: Any, q: str) -> None:
    resp = client.get("/api/products/search", query_string={"q": q})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"


def test_unknown_route_and_method_are_json(client: Any) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    resp = client.delete("/api/products")
    assert resp.status_code == 405 and resp.get_json()["error"] == "method_not_allowed"


def test_unexpected_exception_is_a_json_500(app: Any, client: Any) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    resp = client.get("/boom")
    assert resp.status_code == 500
    assert resp.get_json() == {"error": "internal_error", "message": "internal server error"}
