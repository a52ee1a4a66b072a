"""The bundled store's own view of a load level: the difference between two scrapes of
its Prometheus ``/metrics`` (taken before and after the level), per endpoint.

The store labels requests by Flask URL rule and method; a level's view is the requests
the store served, their mean service time as the store timed it (from the latency
histogram's sum and count), and its 5xx answers. Beside the generator's latencies it
tells queueing outside the application (the generator saw much more than the store did)
from slowness inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUESTS = "dhakacart_http_requests"
LATENCY = "dhakacart_http_request_duration_seconds"


def _samples(text: str) -> dict[tuple[str, str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (REQUESTS, LATENCY):
            continue
        for sample in family.samples:
            labels = sample.labels
            key = f"{labels.get('method', '')} {labels.get('endpoint', '')}"
            if sample.name == REQUESTS + "_total":
                status = labels.get("status", "")
                out[(key, "requests", "")] = out.get((key, "requests", ""), 0.0) + sample.value
                if status.startswith("5"):
                    out[(key, "5xx", "")] = out.get((key, "5xx", ""), 0.0) + sample.value
            elif sample.name in (LATENCY + "_sum", LATENCY + "_count"):
                kind = "sum" if sample.name.endswith("_sum") else "count"
                out[(key, kind, "")] = out.get((key, kind, ""), 0.0) + sample.value
    return out


def store_view(before: str | None, after: str | None) -> dict[str, dict[str, float]] | None:
    """Per endpoint (``"GET /api/products/<int:product_id>"``): requests, mean_ms, errors_5xx
    served between the two scrapes; None when either scrape is missing."""
    if before is None or after is None:
        return None
    a, b = _samples(before), _samples(after)
    endpoints = sorted({key for key, _, _ in b})
    view: dict[str, dict[str, float]] = {}
    for key in endpoints:

        def delta(kind: str, key: str = key) -> float:
            return b.get((key, kind, ""), 0.0) - a.get((key, kind, ""), 0.0)

        requests = delta("requests")
        if requests <= 0 or key.endswith(("/metrics", "/ready", "/health")):
            continue
        count = delta("count")
        view[key] = {
            "requests": requests,
            "mean_ms": round(delta("sum") / count * 1000.0, 3) if count > 0 else 0.0,
            "errors_5xx": delta("5xx"),
        }
    return view


def busiest(view: Mapping[str, Mapping[str, Any]] | None, n: int = 8) -> list[tuple[str, Any]]:
    """The ``n`` endpoints that served the most requests, most first."""
    if not view:
        return []
    return sorted(view.items(), key=lambda item: -float(item[1]["requests"]))[:n]
