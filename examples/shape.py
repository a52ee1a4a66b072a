"""A locustfile whose LoadTestShape drives the load, as in Locust's examples/custom_shape.

``bench run -f examples/shape.py`` (no -u/-r/-t: the shape sets them): 5 users for 6 s,
then 10 users for 6 s, then the run ends.
"""

from locust import FastHttpUser, LoadTestShape, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0.5)

    @task
    def product(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")


class StepShape(LoadTestShape):
    """Two steps, then stop."""

    stages = ((6, 5, 5), (12, 10, 5))  # (until second, users, spawn rate)

    def tick(self) -> tuple[int, float] | None:
        run_time = self.get_run_time()
        for until, users, rate in self.stages:
            if run_time < until:
                return users, rate
        return None
