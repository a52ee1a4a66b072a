"""A rendered report in headless Chromium: offline, and as it looks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dhakacart_bench.report.render import render_report
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
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
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
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
