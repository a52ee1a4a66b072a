"""The capacity page: the answer first, the curve and p95 charts, every level, the
store's /metrics view at the knee; and the store view's arithmetic."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from dhakacart_bench.analysis.capacity_result import summarise
from dhakacart_bench.analysis.capacity_search import SearchPlan
from dhakacart_bench.analysis.store_view import store_view
from dhakacart_bench.report.capacity import capacity_context, render_capacity
from dhakacart_bench.runfolder.capacity import CapacityLevel, LevelEndpoint

SCRAPE = """# TYPE dhakacart_http_requests_total counter
dhakacart_http_requests_total{{endpoint="/api/products",method="GET",status="200"}} {ok}
dhakacart_http_requests_total{{endpoint="/api/checkout",method="POST",status="500"}} {bad}
# TYPE dhakacart_http_request_duration_seconds histogram
dhakacart_http_request_duration_seconds_sum{{endpoint="/api/products",method="GET"}} {sum}
dhakacart_http_request_duration_seconds_count{{endpoint="/api/products",method="GET"}} {ok}
"""


def test_the_store_view_is_the_difference_of_two_scrapes() -> None:
    before = SCRAPE.format(ok=100, bad=1, sum=0.5)
    after = SCRAPE.format(ok=300, bad=4, sum=2.5)
    view = store_view(before, after)
    assert view is not None
    assert view["GET /api/products"] == {"requests": 200, "mean_ms": 10.0, "errors_5xx": 0.0}
    assert view["POST /api/checkout"]["errors_5xx"] == 3
    assert store_view(None, after) is None


def _level(index: int, rate: float, held: bool) -> CapacityLevel:
    p95 = 20.0 if held else 1500.0
    return CapacityLevel(
        index=index,
        rate=rate,
        pool=10,
        seconds=10,
        requests=int(rate * 20),
        offered_rps=rate * 2,
        completed_rps=rate * 2 if held else rate * 1.6,
        mean_ms=p95 / 2,
        p95_ms=p95,
        p99_ms=p95 * 2,
        endpoints={
            "GET /api/products": LevelEndpoint(requests=int(rate * 10), p95_ms=15.0),
            "POST /api/checkout": LevelEndpoint(requests=int(rate * 10), p95_ms=p95),
        },
        generator_cpu_pct=30.0,
        generator_cpu_ms_per_request=0.5,
        held=held,
        broken=() if held else ("POST /api/checkout p95 rises past 1 s (1.5 s)",),
        break_kind=None if held else "slo",
        store_view={"GET /api/products": {"requests": 500.0, "mean_ms": 3.2, "errors_5xx": 0.0}},
    )


def test_the_capacity_page_answers_first_and_marks_good_and_bad_levels(tmp_path: Path) -> None:
    levels = [_level(1, 10, True), _level(2, 20, True), _level(3, 40, False), _level(4, 28, True)]
    levels += [_level(5, 34, False), _level(6, 28, True), _level(7, 34, False)]
    meta = summarise(
        levels,
        plan=SearchPlan(resolution=0.25),
        scenario_name="flash-sale",
        started_at="2026-12-02T00:00:00+00:00",
        host="http://127.0.0.1:5000",
        target="bundled",
        shares_machine=True,
        status="found",
        store={"workers": 4, "threads": 16, "worker_class": "gthread", "database": "SQLite"},
        think_s=3.0,
    )
    assert meta.sustainable_rps == 56.0 and meta.breaking_rps == 68.0
    assert meta.headline.startswith(
        "One store instance (4 gunicorn gthread workers \u00d7 16 threads, SQLite) "
        "sustains 56.0 req/s"
    )
    ctx = capacity_context(tmp_path, meta)
    assert [v["title"] for v in ctx["store_views"]] == ["sustainable", "first bad"]
    assert ctx["store_views"][0]["rows"][0]["rps"] == 50.0
    page = render_capacity(tmp_path, meta)
    soup = BeautifulSoup(page.read_text(), "lxml")
    sections = [s["id"] for s in soup.find_all("section")]
    assert sections == ["answer", "curve", "store-view", "levels"]
    banner = soup.find(class_="banner")
    assert "56 req/s" in banner.get_text() and "POST /api/checkout" in banner.get_text()
    results = [td.get_text() for td in soup.select("table.levels td.held, table.levels td.broke")]
    assert results.count("held") == 4 and len(results) == 7
    assert soup.find(id="capacity-curve").find("svg") is not None
    assert soup.find(id="capacity-p95").find("svg") is not None
    assert "beside the load generator" in soup.get_text()
