"""The same cheap endpoint and rate as overhead.py, with Locust's plain ``HttpUser``
(requests) instead of ``FastHttpUser`` (geventhttpclient): what each costs per request."""

from __future__ import annotations

from locust import HttpUser, constant_throughput, task


class Reader(HttpUser):
    wait_time = constant_throughput(20)

    @task
    def read(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")
