"""DhakaCart shoppers: the user classes the bundled scenarios are made of.

Each class models one kind of shopper against the store's JSON API (see
docs/store.md). Request names group URLs by endpoint (``/api/products/[id]``)
so every product page lands in one histogram. A response counts as a failure
when its status is wrong *or* its body is wrong: a checkout that answers 201
without an order id is a failure, not a sale.

Expected business answers are not errors: a 409 ``sold_out`` from a flash-sale
claim or an ``out_of_stock`` checkout is the store doing its job. They are
counted as successes and tallied as business outcomes
(:func:`dhakacart_bench.measure.outcomes.tally`), so a run can tell "sold out"
from "broken": the tallies are merged over every worker into run.json and the
report's business section. The names (docs/scenarios.md): ``deal:attempted``,
``deal:claimed``, ``deal:sold_out``, ``deal:limit_reached``, ``deal:not_active``,
``checkout:placed``, ``checkout:out_of_stock``; ``units`` are the items an order
holds.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from dhakacart_bench.measure.outcomes import tally

PASSWORD = "shopper-pass-1234"
PER_PAGE = 20


def _json(response: Any) -> dict[str, Any] | None:
    try:
        body = response.json()
    except Exception:
        return None
    return body if isinstance(body, dict) else None


def _error_code(response: Any) -> str:
    body = _json(response)
    return str(body.get("error", "")) if body else ""


def _whole(value: Any, default: int = 0) -> int:
    """``value`` as a whole number ≥ 0 (``default`` when it is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def _units(lines: Any) -> int:
    """Items in an order: the sum of its lines' quantities."""
    if not isinstance(lines, list):
        return 0
    return sum(_whole(line.get("quantity")) for line in lines if isinstance(line, dict))


def wrong_status(response: Any, expected: int) -> None:
    """Fail ``response`` for its status; a connection error (status 0) keeps its exception.

    Keeping the exception lets the report tell a timeout from a refused or reset
    connection instead of one opaque "got 0".
    """
    error = getattr(response, "error", None)
    if response.status_code == 0 and isinstance(error, Exception):
        response.failure(error)
    else:
        response.failure(
            f"expected {expected}, got {response.status_code} {_error_code(response)}".strip()
        )


class Shopper(FastHttpUser):
    """Common behaviour: browse the catalogue the way a person does."""

    abstract = True
    wait_time = between(1, 5)
    #: how long a request may take before the shopper gives up (seconds)
    network_timeout = 30.0
    connection_timeout = 10.0

    product_ids: list[int]
    categories: list[str]

    def on_start(self) -> None:
        self.product_ids = []
        self.categories = []

    # -- catalogue -----------------------------------------------------------------
    def list_products(self, category: str | None = None) -> None:
        page = random.randint(1, 3)
        url = f"/api/products?page={page}&per_page={PER_PAGE}"
        if category:
            url += f"&category={category}"
        with self.client.get(url, name="/api/products", catch_response=True) as resp:
            body = _json(resp)
            if resp.status_code != 200:
                wrong_status(resp, 200)
            elif body is None or not isinstance(body.get("items"), list):
                resp.failure("product list without items")
            else:
                ids = [item["id"] for item in body["items"] if "id" in item]
                if ids:
                    self.product_ids = ids
                if body["items"] and not self.categories:
                    self.categories = sorted({i.get("category", "") for i in body["items"]} - {""})

    def view_product(self) -> None:
        if not self.product_ids:
            self.list_products()
            if not self.product_ids:
                return
        product_id = random.choice(self.product_ids)
        with self.client.get(
            f"/api/products/{product_id}", name="/api/products/[id]", catch_response=True
        ) as resp:
            body = _json(resp)
            if resp.status_code != 200:
                wrong_status(resp, 200)
            elif body is None or body.get("id") != product_id:
                resp.failure("product page for another product")

    def search(self) -> None:
        term = random.choice(["phone", "laptop", "tv", "head", "watch", "cable", "pro", "mini"])
        with self.client.get(
            f"/api/products/search?q={term}", name="/api/products/search", catch_response=True
        ) as resp:
            if resp.status_code != 200:
                wrong_status(resp, 200)
            elif not isinstance((_json(resp) or {}).get("items"), list):
                resp.failure("search answer without items")

    def browse_category(self) -> None:
        self.list_products(random.choice(self.categories) if self.categories else None)


class Browser(Shopper):
    """An anonymous visitor: lists, filters, searches and reads product pages."""

    @task(5)
    def product_page(self) -> None:
        self.view_product()

    @task(3)
    def catalogue(self) -> None:
        self.list_products()

    @task(2)
    def category(self) -> None:
        self.browse_category()

    @task(1)
    def find(self) -> None:
        self.search()


class SignedInShopper(Shopper):
    """A shopper with an account: registers on arrival, sends the token after."""

    abstract = True
    token: str | None = None

    def on_start(self) -> None:
        super().on_start()
        self.token = None
        email = f"shopper-{uuid.uuid4().hex[:16]}@dhakacart.test"
        with self.client.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD},
            name="/api/auth/register",
            catch_response=True,
        ) as resp:
            body = _json(resp)
            if resp.status_code != 201:
                wrong_status(resp, 201)
            elif not body or not body.get("token"):
                resp.failure("registration without a token")
            else:
                self.token = str(body["token"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def add_to_cart(self, quantity: int = 1) -> bool:
        if not self.product_ids:
            self.list_products()
        if not self.product_ids or not self.token:
            return False
        product_id = random.choice(self.product_ids)
        with self.client.post(
            "/api/cart/items",
            json={"product_id": product_id, "quantity": quantity},
            headers=self.auth,
            name="/api/cart/items",
            catch_response=True,
        ) as resp:
            if resp.status_code != 201:
                wrong_status(resp, 201)
                return False
            if not isinstance((_json(resp) or {}).get("items"), list):
                resp.failure("cart answer without items")
                return False
        return True

    def view_cart(self) -> list[dict[str, Any]]:
        if not self.token:
            return []
        with self.client.get(
            "/api/cart", headers=self.auth, name="/api/cart", catch_response=True
        ) as resp:
            body = _json(resp)
            if resp.status_code != 200:
                wrong_status(resp, 200)
                return []
            if body is None or not isinstance(body.get("items"), list):
                resp.failure("cart answer without items")
                return []
            return list(body["items"])


class CartShopper(SignedInShopper):
    """Fills and edits a cart but never checks out (abandoned carts are most carts)."""

    @task(3)
    def browse(self) -> None:
        self.view_product()

    @task(3)
    def add(self) -> None:
        self.add_to_cart(random.randint(1, 2))

    @task(2)
    def cart(self) -> None:
        self.view_cart()

    @task(1)
    def change(self) -> None:
        items = self.view_cart()
        if not items:
            return
        item = random.choice(items)
        quantity = random.choice([0, 1, 2, 3])
        with self.client.put(
            f"/api/cart/items/{item['product_id']}",
            json={"quantity": quantity},
            headers=self.auth,
            name="/api/cart/items/[id]",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                wrong_status(resp, 200)


class Buyer(SignedInShopper):
    """Browses, fills a cart with one or two products and checks out.

    Every checkout carries an ``Idempotency-Key``; a 201 must hold an order id.
    An ``out_of_stock`` 409 is the store refusing to oversell: counted as an
    outcome, not an error.
    """

    @task(2)
    def browse(self) -> None:
        self.view_product()

    @task(1)
    def buy(self) -> None:
        for _ in range(random.randint(1, 2)):
            if not self.add_to_cart(1):
                return
        key = uuid.uuid4().hex
        with self.client.post(
            "/api/checkout",
            headers={**self.auth, "Idempotency-Key": key},
            name="/api/checkout",
            catch_response=True,
        ) as resp:
            body = _json(resp) or {}
            if resp.status_code == 201:
                if not body.get("order_id"):
                    resp.failure("checkout answered 201 without an order id")
                else:
                    tally("checkout:placed", units=_units(body.get("lines")))
            elif resp.status_code == 409 and body.get("error") == "out_of_stock":
                tally("checkout:out_of_stock")
                resp.success()
            else:
                wrong_status(resp, 201)


class FlashSaleBuyer(SignedInShopper):
    """Waits for the flash sale, then races for a unit.

    Before the opening the shopper refreshes the deals page every few seconds
    (the waiting crowd). Once a deal is active it claims at once — no think
    time: this is the surge. Sold out, limit reached and not-yet-open are the
    store's correct answers. After one claim the shopper keeps browsing.
    """

    wait_time = between(2, 5)

    deal_id: int | None = None
    done: bool = False

    def on_start(self) -> None:
        super().on_start()
        self.deal_id = None
        self.done = False

    def refresh_deals(self) -> dict[str, Any] | None:
        with self.client.get("/api/deals", name="/api/deals", catch_response=True) as resp:
            body = _json(resp)
            if resp.status_code != 200:
                wrong_status(resp, 200)
                return None
            if body is None or not isinstance(body.get("items"), list):
                resp.failure("deals answer without items")
                return None
        active = [d for d in body["items"] if d.get("active")]
        return active[0] if active else None

    def claim(self, deal_id: int) -> None:
        tally("deal:attempted")
        with self.client.post(
            f"/api/deals/{deal_id}/claim",
            json={"quantity": 1},
            headers={**self.auth, "Idempotency-Key": uuid.uuid4().hex},
            name="/api/deals/[id]/claim",
            catch_response=True,
        ) as resp:
            code = _error_code(resp)
            body = _json(resp) or {}
            if resp.status_code == 201:
                if not body.get("order_id"):
                    resp.failure("claim answered 201 without an order id")
                else:
                    tally("deal:claimed", units=_whole(body.get("quantity"), 1))
                self.done = True
            elif resp.status_code == 409 and code in ("sold_out", "limit_reached"):
                tally(f"deal:{code}")
                resp.success()
                self.done = True
            elif resp.status_code == 409 and code == "deal_not_active":
                tally("deal:not_active")
                resp.success()
            else:
                wrong_status(resp, 201)

    @task
    def flash_sale(self) -> None:
        if self.done:
            self.view_product()
            return
        if not self.token:
            return
        deal = self.refresh_deals()
        if deal is not None:
            self.claim(int(deal["id"]))
