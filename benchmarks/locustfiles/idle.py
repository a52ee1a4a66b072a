"""Connected idle users, for generator-memory measurements.

Each user makes one request when it starts (so it holds a connected client) and then
waits; used by ``benchmarks/idle_memory.py`` with both plain ``locust`` and ``bench run
-f``, so the two hold exactly the same users.
"""

from __future__ import annotations

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Idle(FastHttpUser):
    wait_time = constant(3600)

    def on_start(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")

    @task
    def nothing(self) -> None:
        """Waits (the user's one request was in on_start)."""
