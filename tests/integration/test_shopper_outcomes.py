"""The shoppers' locustfile tallies the sale's outcomes (against a scripted store on
127.0.0.1): each claim answer and each checkout becomes a named outcome."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
from locust.env import Environment
from locust.event import Events

from dhakacart_bench.measure import outcomes
from dhakacart_bench.measure.engines.locustfile import _close_client
from dhakacart_bench.measure.recorder import Recorder
from tests.servers import JsonHandler, serve_in_thread

SHOPPERS = Path(__file__).resolve().parents[2] / "locustfiles" / "shoppers.py"


class _ScriptedStore(JsonHandler):
    """Answers each claim / checkout with the next scripted (status, body)."""

    claims: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    checkouts: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        script = self.claims if "/claim" in self.path else self.checkouts
        self.answer(*script.pop(0))


@pytest.fixture
def store() -> Iterator[str]:
    with serve_in_thread(_ScriptedStore) as url:
        yield url


@pytest.fixture
def shoppers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shoppers_under_test", SHOPPERS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_claims_and_checkouts_become_outcomes(store: str, shoppers: ModuleType) -> None:
    _ScriptedStore.claims[:] = [
        (201, {"order_id": 7, "deal_id": 1, "quantity": 1}),
        (409, {"error": "sold_out"}),
        (409, {"error": "limit_reached"}),
        (409, {"error": "deal_not_active"}),
        (500, {"error": "boom"}),
    ]
    _ScriptedStore.checkouts[:] = [
        (201, {"order_id": 8, "lines": [{"quantity": 2}, {"quantity": 1}]}),
        (409, {"error": "out_of_stock"}),
    ]
    env = Environment(events=Events())
    recorder = Recorder(run_start=0.0)
    outcomes.add_listener(recorder.on_outcome)
    try:
        buyer = type("Claimer", (shoppers.FlashSaleBuyer,), {"host": store})(env)
        buyer.token = "t"
        for _ in range(5):
            buyer.claim(1)
        checkout = type("Checkout", (shoppers.Buyer,), {"host": store})(env)
        checkout.token = "t"
        checkout.product_ids = [1]
        checkout.add_to_cart = lambda quantity=1: True  # the cart is not under test here
        checkout.buy()
        checkout.buy()
        for user in (buyer, checkout):
            _close_client(user)
    finally:
        outcomes.remove_listener(recorder.on_outcome)
    section = recorder.outcomes.section(0.0)
    assert section is not None
    counts = {t.name: (t.count, t.units) for t in section.tallies}
    assert counts == {
        "deal:attempted": (5, 0),
        "deal:claimed": (1, 1),
        "deal:sold_out": (1, 0),
        "deal:limit_reached": (1, 0),
        "deal:not_active": (1, 0),
        "checkout:placed": (1, 3),
        "checkout:out_of_stock": (1, 0),
    }
