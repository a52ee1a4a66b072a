"""The managed bundled store: a real gunicorn under real concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from dhakacart_bench.errors import StoreError
from dhakacart_bench.target.commands import StoreSettings
from dhakacart_bench.target.process import ManagedStore

PASSWORD = "shopper-pass"


def postgres_url() -> str:
    from tests.postgres import postgres_server_url

    return postgres_server_url()


def scratch_postgres() -> tuple[str, Callable[[], None]]:
    import psycopg

    server = postgres_url().replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"dhakacart_store_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base, _, _ = server.rpartition("/")
    return f"{base}/{name}", drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None  # ManagedStore makes a fresh SQLite file
        return
    url, drop = scratch_postgres()
    yield url
    drop()


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _client(url: str) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        timeout=30,
        # idle connections expire before the store's 5 s keep-alive closes them: with equal
        # timeouts a reused connection can be closed under the request (reset, "disconnected")
        limits=httpx.Limits(
            max_connections=128, max_keepalive_connections=128, keepalive_expiry=2.0
        ),
    )


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, dhakacart_bench.target.process\n"
        "bad = {'flask', 'sqlalchemy', 'psycopg', 'ssl', 'httpx', 'target_app', 'urllib.request'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_start_serve_verify_stop() -> None:
    store = ManagedStore(StoreSettings(workers=2, threads=4, products=20, users=2, hash_seed=1234))
    with store:
        assert store.url.startswith("http://127.0.0.1:") and store.pid > 0
        # the hash seed reaches gunicorn and its (forked) workers; ready means one worker
        # answers: gunicorn forks the second a moment later
        master = psutil.Process(store.pid)
        wait_until(lambda: len(master.children()) == 2, timeout=20)
        workers = master.children()
        assert {p.environ().get("PYTHONHASHSEED") for p in (master, *workers)} == {"1234"}
        assert store.admin_token and store.database_url.startswith("sqlite:///")
        data_dir = store.log_path.parent
        assert httpx.get(store.url + "/health").json() == {"status": "ok"}
        assert httpx.get(store.url + "/api/products").json()["total"] == 20
        report = store.verify()
        assert report["ok"] is True and report["stats"]["users"] == 2
        assert "Booting worker" in store.log_path.read_text()
    assert not data_dir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(store.pid, 0)
    store.stop()  # idempotent


def test_start_failure_is_a_store_error_with_log_lines(tmp_path: Path) -> None:
    settings = StoreSettings(database_url="postgresql://nobody@127.0.0.1:1/none", data_dir=tmp_path)
    with pytest.raises(StoreError, match="seeding the store database failed"):
        ManagedStore(settings).start()
    (tmp_path / "instance").mkdir()
    bad_env = StoreSettings(data_dir=tmp_path, env="staging", startup_timeout_s=20)
    store = ManagedStore(bad_env)
    with pytest.raises(StoreError, match="gunicorn exited") as info:
        store.start()
    assert "Worker failed to boot" in str(info.value)  # the message carries the log tail
    assert "STORE_ENV must be one of" in store.log_path.read_text()
    assert tmp_path.exists()  # a data_dir it did not create is kept


def test_faults_reach_every_worker_and_reload() -> None:
    settings = StoreSettings(workers=2, threads=4, products=10, faults={"error_rate": 1.0})
    with ManagedStore(settings) as store:
        # a new connection per request: gunicorn spreads them over both workers
        def statuses(path: str, n: int = 24) -> Counter[int]:
            return Counter(httpx.get(store.url + path).status_code for _ in range(n))

        assert statuses("/api/categories") == {503: 24}  # initial knobs from settings
        assert statuses("/health") == {200: 24}
        store.reset_faults()
        wait_until(lambda: statuses("/api/categories") == {200: 24})
        store.set_faults({"latency_ms": {"/api/products/<int:product_id>": 200}})

        def slow() -> bool:
            times = []
            for _ in range(6):
                start = time.perf_counter()
                httpx.get(store.url + "/api/products/1")
                times.append(time.perf_counter() - start)
            return min(times) >= 0.2

        wait_until(slow)
        with pytest.raises(StoreError, match="400"):
            store.set_faults({"error_rate": 5})
        pid = store.pid
        store.reload()
        wait_until(
            lambda: (
                "Hang up" in store.log_path.read_text()
                or "Handling signal: hup" in store.log_path.read_text()
            )
        )
        assert httpx.get(store.url + "/ready").status_code == 200
        assert store.pid == pid and store.running


@pytest.mark.slow
def test_flash_sale_under_real_concurrency(store_database: str | None) -> None:
    """>= 500 shoppers race for 50 deal units while others race for scarce stock."""
    claimers, buyers, deal_stock = 520, 60, 50
    settings = StoreSettings(
        database_url=store_database,
        workers=2,
        threads=16,
        products=20,
        users=claimers + buyers + 1,
        deal_stock=deal_stock,
        deal_per_user_limit=1,
    )
    with (
        ManagedStore(settings) as store,
        _client(store.url) as client,
        ThreadPoolExecutor(96) as pool,
    ):

        def token(i: int) -> dict[str, str]:
            email = f"shopper{i}@dhakacart.test"
            resp = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            assert resp.status_code == 200, resp.text
            return {"Authorization": f"Bearer {resp.json()['token']}"}

        headers = list(pool.map(token, range(1, claimers + buyers + 2)))
        products = client.get("/api/products", params={"per_page": 20}).json()["items"]
        scarce = min((p for p in products if p["id"] != 1), key=lambda p: p["stock"])
        per_buyer = scarce["stock"] // 20 + 1  # 60 buyers want about 3x the stock
        for h in headers[claimers : claimers + buyers]:
            cart = {"product_id": scarce["id"], "quantity": per_buyer}
            assert client.post("/api/cart/items", json=cart, headers=h).status_code == 201

        go = threading.Event()
        # Fresh connections for the race: pooled ones idle past gunicorn's keep-alive
        # (5 s) may be closed by the server just as a request is sent on them.
        racer = _client(store.url)

        def claim(h: dict[str, str]) -> int:
            return racer.post("/api/deals/1/claim", headers=h).status_code

        def checkout(h: dict[str, str]) -> int:
            return racer.post("/api/checkout", headers=h).status_code

        def dup_checkout(_: int) -> tuple[int, int]:
            h = {**headers[-1], "Idempotency-Key": "same-click"}
            resp = racer.post("/api/checkout", headers=h)
            return resp.status_code, resp.json().get("order_id", -1)

        client.post("/api/cart/items", json={"product_id": 2, "quantity": 1}, headers=headers[-1])

        def race(job: tuple[str, Any]) -> Any:
            go.wait(timeout=10)  # all 96 threads start together
            kind, arg = job
            return kind, {"claim": claim, "checkout": checkout, "dup": dup_checkout}[kind](arg)

        jobs = [("claim", h) for h in headers[:claimers]]
        jobs += [("checkout", h) for h in headers[claimers : claimers + buyers]]
        jobs += [("dup", i) for i in range(8)]
        t0 = time.monotonic()
        futures = [pool.submit(race, job) for job in jobs]
        go.set()
        results = [f.result(timeout=30) for f in futures]
        racer.close()
        elapsed = time.monotonic() - t0
        claims = Counter(code for kind, code in results if kind == "claim")
        checkouts = Counter(code for kind, code in results if kind == "checkout")
        dups = [res for kind, res in results if kind == "dup"]

        assert claims == {201: deal_stock, 409: claimers - deal_stock}, claims
        assert checkouts == {
            201: scarce["stock"] // per_buyer,
            409: buyers - scarce["stock"] // per_buyer,
        }
        assert {code for code, _ in dups} <= {200, 201} and len({oid for _, oid in dups}) == 1
        assert [code for code, _ in dups].count(201) == 1
        deal = client.get("/api/deals").json()["items"][0]
        assert deal["remaining"] == 0
        left = client.get(f"/api/products/{scarce['id']}").json()["stock"]
        assert left == scarce["stock"] % per_buyer
        report = store.verify()
        assert report["ok"], report["problems"]
        assert report["stats"]["deal_units_claimed"] == deal_stock
        assert elapsed < 20
