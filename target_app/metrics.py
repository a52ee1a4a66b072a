"""Prometheus metrics (prometheus-client), correct across gunicorn workers.

When ``PROMETHEUS_MULTIPROC_DIR`` is set (the serve command and ManagedStore set
it to a fresh directory before gunicorn starts), every worker writes its own
files and ``/metrics`` merges them with ``MultiProcessCollector``.
Endpoints are labelled with the Flask URL rule, never the raw path.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "dhakacart_http_requests_total",
    "HTTP requests by endpoint (URL rule), method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "dhakacart_http_request_duration_seconds",
    "HTTP request latency by endpoint (URL rule) and method",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDERS = Counter("dhakacart_orders_placed_total", "Orders placed", ["source"])
DEAL_UNITS = Counter("dhakacart_deal_units_claimed_total", "Flash-sale deal units claimed")


def _start() -> None:
    g.metrics_start = time.perf_counter()


def _record(response: Response) -> Response:
    start = g.pop("metrics_start", None)
    if start is not None:
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - start)
    return response


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest(REGISTRY)
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_record)
