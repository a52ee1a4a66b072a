"""A plain locustfile, as Locust's own examples/basic.py: HttpUser, @task weights, between.

Run it with Locust's flags: ``bench run -f examples/basic.py -u 10 -r 10 -t 10s -H URL``
(without -H it runs against the bundled store, whose API these paths are).
"""

from locust import HttpUser, between, task


class WebsiteUser(HttpUser):
    """A shopper who mostly looks at products and sometimes at the front page."""

    wait_time = between(0.5, 2)

    @task(3)
    def product(self) -> None:
        self.client.get("/api/products/1", name="/api/products/[id]")

    @task(1)
    def catalogue(self) -> None:
        self.client.get("/api/products")
