"""The shoppers' locustfile tallies the sale's outcomes (against a scripted store on
127.0.0.1): each claim answer and each checkout becomes a named outcome."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
from locust.env import Environment
from locust.event import Events

from dhakacart_bench.measure import outcomes
from dhakacart_bench.measure.engines.locustfile import _close_client
from dhakacart_bench.measure.recorder import Recorder

SHOPPERS = Path(__file__).resolve().parents[2] / "locustfiles" / "shoppers.py"


class _ScriptedStore(BaseHTTPRequestHandler):
    """Answers each claim / checkout with the next scripted (status, body)."""

    protocol_version = "HTTP/1.0"  # one request per connection: no kept-alive socket leaks
    claims: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    checkouts: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        script = self.claims if "/claim" in self.path else self.checkouts
        status, body = script.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def store() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedStore)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
