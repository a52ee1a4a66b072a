"""A rendered report in headless Chromium: offline, and as it looks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dhakacart_bench.report.render import render_report
from dhakacart_bench.runfolder.reader import load_run
from tests.chromium import HEADLESS, PNG_MAGIC, find_chromium
from tests.synthetic import MakeRun


def _chromium() -> str:
    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(
            "Chromium is required in CI for the report browser test (apt-get install -y chromium)"
        )
    pytest.skip("Chromium not installed (apt-get install -y chromium); required in CI")


def _open(chromium: str, page: Path, work: Path, screenshot: Path) -> list[str]:
    """Load ``page`` headless; return the URLs the page itself requested."""
    net_log = work / "net-log.json"
    args = [
        chromium,
        *HEADLESS,
        f"--user-data-dir={work / 'profile'}",
        f"--log-net-log={net_log}",
        f"--screenshot={screenshot}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(net_log.read_text(encoding="utf-8"))
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requested = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) != "URL_REQUEST_START_JOB":
            continue
        from_page = "file://" in str(params.get("network_isolation_key", "")) or params.get(
            "initiator"
        ) not in (None, "not an origin")
        if from_page:
            requested.append(str(params.get("url")))
    return requested


def test_report_renders_offline_in_chromium(make_run: MakeRun, tmp_path: Path) -> None:
    chromium = _chromium()
    artifacts = Path(os.environ.get("BENCH_ARTIFACTS_DIR") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)

    control = tmp_path / "control.html"
    control.write_text(
        '<!doctype html><p>control</p><img src="http://example.invalid/x.png">', encoding="utf-8"
    )
    control_dir = tmp_path / "control"
    control_dir.mkdir()
    seen = _open(chromium, control, control_dir, control_dir / "control.png")
    assert "http://example.invalid/x.png" in seen, "net-log detection does not work"

    run = load_run(
        make_run(
            seconds=80,
            usl=(5.0, 0.02, 0.0005),
            users_profile=lambda s: 10 * (1 + s // 10),
            latency_model=lambda ep, n: 20.0 if n < 60 else 900.0,
            error_rate=lambda s, ep, n: 0.0 if n < 60 else 0.02,
        )
    )
    baseline = load_run(
        make_run(
            name="baseline",
            seconds=80,
            usl=(5.0, 0.02, 0.0005),
            users_profile=lambda s: 10 * (1 + s // 10),
        )
    )
    report = render_report(run, baseline=baseline)
    shot = artifacts / "report-screenshot.png"
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    requested = _open(chromium, report, report_dir, shot)
    assert requested == [], f"the report made network requests: {requested}"
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 50_000, "screenshot suspiciously small: did the page render?"


FLASH_SALE_ENDPOINTS = {
    "GET /api/products/[id]": 3.0,
    "GET /api/products": 3.5,
    "POST /api/cart/items": 4.0,
    "GET /api/deals": 3.0,
    "POST /api/checkout": 5.0,
    "GET /api/products/search": 3.0,
    "POST /api/auth/register": 40.0,
    "POST /api/deals/[id]/claim": 17.0,
}


def _flash_sale_shaped(make_run: MakeRun) -> Path:
    """A run shaped like a 500-shopper `bench run flash-sale`: crowd, surge, hold, ramp
    down; eight endpoints; the sale's outcomes; the store's counts."""
    from tests.analysis.test_sale import SALE, STORE, _invariants

    def users(second: int) -> int:
        if second < 60:
            return 3 + round(197 * second / 60)
        if second < 70:
            return 200 + 30 * (second - 60)
        if second < 130:
            return 500
        return 500 - 22 * (second - 130)

    return make_run(
        seconds=150,
        endpoints=FLASH_SALE_ENDPOINTS,
        users_profile=users,
        usl=(0.35, 0.0005, 0.0),
        latency_model=lambda ep, n: FLASH_SALE_ENDPOINTS[ep] * (1 + n / 400),
        outcomes=SALE,
        store=STORE,
        invariants=_invariants(50),
        gate={"p95_regression_pct": 10.0, "endpoints": ["*"], "min_requests": 200},
    )


#: Most A4 pages a flash-sale report may print to (it printed to 9 before the print
#: stylesheet kept tables, blocks and charts whole and left the raw scenario out).
MAX_PRINTED_PAGES = 7
#: A page (but the last) must be filled at least this far down: no near-empty page.
MIN_PAGE_FILL = 0.3


def test_the_report_prints_to_a4_without_near_empty_pages(
    make_run: MakeRun, tmp_path: Path
) -> None:
    from tests.chromium import pdf_pages, print_pdf

    chromium = _chromium()
    artifacts = Path(os.environ.get("BENCH_ARTIFACTS_DIR") or tmp_path)
    report = render_report(load_run(_flash_sale_shaped(make_run)))
    pdf = print_pdf(chromium, report, artifacts / "flash-sale-report.pdf")
    pages = pdf_pages(pdf)
    summary = [(p.number, p.chars, round(p.filled, 2)) for p in pages]
    assert 2 <= len(pages) <= MAX_PRINTED_PAGES, summary
    for page in pages[:-1]:
        assert page.filled >= MIN_PAGE_FILL, (page.number, page.text[:300], summary)
    assert pages[-1].chars >= 200, (pages[-1].text, summary)
    # the first page is the decision: the verdict with its scale, capacity, the targets
    first = pages[0].text
    assert "Are we ready for the sale?" in first and "shoppers the scenario is written for" in first
    # what is kept whole stays on one page: the business rules block, the sale's story
    text_of = [p.text for p in pages]
    for marker in ("deal_units_claimed", "checkout:placed"):
        holders = [n for n, t in enumerate(text_of) if marker in t]
        assert len(holders) == 1, (marker, summary)
