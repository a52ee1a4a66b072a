"""The report: its context's numbers and the rendered HTML's structure."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from dhakacart_bench.report.charts import MAX_POINTS, downsample
from dhakacart_bench.report.context import build_context
from dhakacart_bench.report.render import render_compare, render_report
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.hdr import hist_stats
from tests.synthetic import MakeRun, write_synthetic_run

XSS_SCRIPT = "<script>alert(1)</script>"


XSS_IMG = "<img src=x onerror=alert(1)>"


FIRST_SCREEN = ("verdict", "capacity", "slos", "invariants")


ENGINEER = ("endpoints", "charts", "capacity-detail", "plan", "errors", "metadata")


CHARTS = ("chart-load", "chart-latency", "chart-errors", "chart-distribution", "chart-capacity")


def _stepped(tmp_path: Path, **kw):
    kw.setdefault("latency_model", lambda ep, n: 20.0 if n < 60 else 900.0)
    return load_run(
        write_synthetic_run(
            tmp_path,
            seconds=80,
            users_profile=lambda s: 10 * (1 + s // 10),
            usl=(5.0, 0.02, 0.0005),
            **kw,
        )
    )


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def _external_refs(soup: BeautifulSoup) -> list[str]:
    refs = []
    for tag in soup.find_all(True):
        for attr in ("src", "href", "xlink:href", "data", "action", "poster"):
            value = tag.get(attr)
            if value and not str(value).startswith("#"):
                refs.append(f"{tag.name} {attr}={value}")
    return refs


def test_context_numbers_equal_the_run(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(make_run(error_rate=0.05))
    ctx = build_context(run, charts=False)
    rows = {r["name"]: r for r in ctx["endpoints"]}
    for srow in [*run.summary.endpoints, run.summary.total]:
        row = rows[srow.name]
        assert row["count"] == srow.count
        assert row["failures"] == srow.failures
        for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"):
            assert row[key] == srow.get(key)
    # the whole-run histogram agrees (within its bucket) with the exact, clamped summary
    assert rows["*"]["p95_ms"] == pytest.approx(hist_stats(run.histogram("*")).p95_ms, rel=1e-3)
    assert ctx["verdict"]["status"] == "FAIL"  # 5% errors against a 1% SLO
    assert ctx["charts"] == {}
    assert ctx["plan"]["users"] == 100_000
    assert ctx["changes"] is None


def test_context_numbers_against_an_independent_oracle(make_run: MakeRun) -> None:
    """Numbers known without the code under test: every request took 37 ms, so every
    percentile, the mean and the max are 37 ms; 1 in 4 failed, so the error rate is 25 %."""
    run = load_run(
        make_run(
            seconds=10,
            endpoints={"GET /a": 37.0},
            latency_model=lambda _e, _u: 37.0,
            latency_sigma=0.0,
            error_rate=0.25,
        )
    )
    rows = {r["name"]: r for r in build_context(run, charts=False)["endpoints"]}
    for name in ("GET /a", "*"):
        row = rows[name]
        for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"):
            assert row[key] == 37.0, (name, key, row[key])
        assert row["error_rate"] == pytest.approx(0.25, abs=0.01)
        assert row["count"] > 100


def test_context_with_baseline_has_the_top_changes(make_run: MakeRun, tmp_path: Path) -> None:
    base = load_run(make_run(name="base"))
    run = load_run(make_run(name="run", latency_model=lambda ep, n: 60.0))
    ctx = build_context(run, baseline=base, charts=False)
    assert ctx["changes"]["baseline_id"] == base.run_id
    assert len(ctx["changes"]["top"]) == 3
    assert all(c["worse"] for c in ctx["changes"]["top"])


def test_report_structure(tmp_path: Path) -> None:
    run = _stepped(tmp_path)
    path = render_report(run)
    assert path == run.path / "report.html"
    assert [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")] == []
    soup = _soup(path)
    for section in (*FIRST_SCREEN, *ENGINEER, *CHARTS):
        assert soup.find(id=section) is not None, section
    assert soup.find("script") is None
    assert _external_refs(soup) == []
    assert len(soup.find_all("svg")) == len(CHARTS)
    assert "FAIL" in soup.find(id="verdict").get_text()
    assert "Held 50 concurrent shoppers" in soup.find(id="capacity").get_text()
    style = soup.find("style").get_text()
    assert "@media print" in style and "break-inside: avoid" in style
    assert "max-width: 100%" in style


def test_report_tables_hold_the_numbers(tmp_path: Path) -> None:
    run = _stepped(tmp_path)
    soup = _soup(render_report(run, out=tmp_path / "out" / "r.html"))
    cells = {
        tr.find("td").get_text(strip=True): [td.get_text(strip=True) for td in tr("td")]
        for tr in soup.find(id="endpoints").find("table").find("tbody")("tr")
    }
    total = run.summary.total
    assert cells["all endpoints"][1] == f"{total.count:,}"
    assert cells["POST /api/checkout"][1] == f"{run.summary.endpoints[2].count:,}"
    slo_rows = soup.find(id="slos")("tr")[1:]
    assert [r("td")[-1].get_text(strip=True) for r in slo_rows] == ["FAIL", "PASS", "PASS"]
    levels = soup.find(id="capacity-detail").find("table")("tr")[1:]
    assert [r("td")[0].get_text(strip=True) for r in levels] == [str(10 * i) for i in range(1, 9)]
    assert "N* ≈" in soup.find(id="capacity-detail").get_text()


def test_report_metadata_says_which_model_ran(make_run: MakeRun, tmp_path: Path) -> None:
    closed = _soup(render_report(load_run(make_run(name="c", seconds=5))))
    assert "coordinated omission" in closed.find(id="metadata").get_text()
    open_ = _soup(
        render_report(
            load_run(make_run(name="o", seconds=5, workload_model="open", invariants=None))
        )
    )
    assert "Open model: arrival rate" in open_.find(id="metadata").get_text()
    assert "NOT CHECKED" in open_.find(id="invariants").get_text()


def test_target_text_is_inert(make_run: MakeRun, tmp_path: Path) -> None:
    evil_ep = f"GET /api/{XSS_SCRIPT}{XSS_IMG}$x$"
    errors = [
        {
            "endpoint": evil_ep,
            "kind": "http_status",
            "status": 500,
            "message": f"boom {XSS_SCRIPT} {XSS_IMG}",
            "count": 3,
            "first_seen_s": 1.0,
            "last_seen_s": 2.0,
        }
    ]
    slos = [
        {"metric": "p95_ms", "endpoint": evil_ep, "max": 1.0, "min": None, "name": f"slo {XSS_IMG}"}
    ]
    run = load_run(
        make_run(
            endpoints={evil_ep: 10.0, "GET /ok": 5.0},
            errors=errors,
            slos=slos,
            invariants={"checked": True, "ok": False, "problems": [XSS_SCRIPT]},
        )
    )
    path = render_report(run, baseline=run)
    raw = path.read_text(encoding="utf-8")
    soup = BeautifulSoup(raw, "lxml")
    assert soup.find("script") is None
    assert soup.find("img") is None
    assert not any(attr.startswith("on") for tag in soup.find_all(True) for attr in tag.attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw
    assert XSS_SCRIPT in soup.find(id="errors").get_text()
    # the endpoint name reaches the distribution chart's legend as escaped SVG text
    legend = soup.find(id="chart-distribution").get_text()
    assert f"GET /api/{XSS_SCRIPT}{XSS_IMG}$x$" in legend


def test_compare_report(make_run: MakeRun, tmp_path: Path) -> None:
    a = load_run(make_run(name="a"))
    b = load_run(make_run(name="b", latency_model=lambda ep, n: 80.0))
    path = render_compare(a, b)
    assert path == tmp_path / "compare-a-vs-b.html"  # beside the runs, never inside one
    soup = _soup(path)
    for section in ("verdict", "changes", "capacity", "slos", "endpoints", "charts", "metadata"):
        assert soup.find(id=section) is not None, section
    assert soup.find("script") is None and _external_refs(soup) == []
    assert soup.select("td.worse")
    assert len(soup.find(id="changes")("li")) == 3
    assert soup.find(id="a-chart-load") and soup.find(id="b-chart-load")


def test_long_series_are_downsampled() -> None:
    x = list(range(100_000))
    xs, ys = downsample(x, [float(v % 7) for v in x], "max")
    assert len(xs) <= MAX_POINTS and max(ys) == 6.0
    assert downsample([1, 2], [3, 4]) == ([1.0, 2.0], [3.0, 4.0])


@pytest.mark.parametrize("seconds", [3600])
def test_hour_long_run_charts_stay_small(make_run: MakeRun, tmp_path: Path, seconds: int) -> None:
    run = load_run(
        make_run(seconds=seconds, endpoints=["GET /a"], users_profile=lambda s: 10 + s // 360)
    )
    path = render_report(run)
    assert path.stat().st_size < 1_500_000
    for svg in _soup(path).find_all("svg"):
        for line in svg.find_all("path"):
            # a step fill has two edges of two vertices per point
            assert str(line.get("d", "")).count("L") <= 4 * MAX_POINTS + 10


def test_run_without_requests_still_renders(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(
        make_run(
            seconds=5,
            throughput=lambda users: 0,
            status="failed",
            status_reason="target unreachable",
        )
    )
    ctx = build_context(run, charts=False)
    assert ctx["verdict"]["status"] == "INCONCLUSIVE"
    assert ctx["verdict"]["reasons"][0].startswith("The run failed (target unreachable)")
    assert (
        ctx["capacity"]["headline"] == "No requests completed at any load level: "
        "capacity is unknown."
    )
    assert ctx["plan"] is None
    soup = _soup(render_report(run))
    assert "no requests recorded" in soup.find(id="chart-distribution").get_text()
    assert soup.find(id="plan") is None


def test_no_slos_is_a_qualified_pass(make_run: MakeRun, tmp_path: Path) -> None:
    ctx = build_context(load_run(make_run(seconds=5, slos=[])), charts=False)
    assert ctx["verdict"]["status"] == "PASS"
    assert "no targets were set" in ctx["verdict"]["headline"]
