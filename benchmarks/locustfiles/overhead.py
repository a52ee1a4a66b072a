"""One cheap endpoint at a fixed rate per user, for generator-cost measurements.

Used by ``benchmarks/recorder_overhead.py`` with both plain ``locust`` and
``bench run``, so the two do exactly the same requests: ``Reader`` at a fixed rate,
``Flood`` as fast as the generator can (its saturation point).
"""

from __future__ import annotations

from locust import constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser


class Reader(FastHttpUser):
    wait_time = constant_throughput(20)

    @task
    def read(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")


class Flood(FastHttpUser):
    wait_time = constant(0)

    @task
    def read(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")
