"""Minimal users for measurements: one endpoint, no think time.

``ProductReader`` reads one product page again and again. It is what the
open-model and accuracy benchmarks aim at: a single histogram, nothing else
competing for the generator.
"""

from __future__ import annotations

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class ProductReader(FastHttpUser):
    """GET one product page, back to back (closed loop) or per arrival (open)."""

    wait_time = constant(0)
    product_id = 1

    @task
    def read(self) -> None:
        with self.client.get(
            f"/api/products/{self.product_id}", name="/api/products/[id]", catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"expected 200, got {resp.status_code}")
