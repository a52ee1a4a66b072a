"""The run folder: writing, reading back, atomic writes and format checks."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.measure.sidecars.probe import classify_status
from dhakacart_bench.runfolder import layout
from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_COLUMNS,
    FORMAT,
    FORMAT_VERSION,
    TIMESERIES_COLUMNS,
    atomic_write_json,
    atomic_write_text,
    new_run_dir,
)
from dhakacart_bench.runfolder.meta import RunMeta
from dhakacart_bench.runfolder.reader import load_run, read_probe_csv
from dhakacart_bench.runfolder.windows import Measurements
from dhakacart_bench.runfolder.writer import probe_csv_text, write_measurements, write_run_json
from dhakacart_bench.scenario.lookup import load_scenario
from dhakacart_bench.stats.availability import (
    Check,
)
from dhakacart_bench.stats.hdr import histogram_counts, new_histogram

RUN_START = 1_800_000_000.4


BASE = int(RUN_START)


class CatchResponseError(Exception):
    """Stand-in for locust.exception.CatchResponseError."""


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def make_measurements() -> Measurements:
    """A 12-second run: requests in seconds 0-3 and 7-9, idle 4-6 and 10-12."""
    recorder = Recorder(run_start=RUN_START)
    recorder.set_users(10, now=RUN_START)
    recorder.set_users(25, now=BASE + 7.1)
    recorder.set_generator_sample(35.0, 1.5, now=BASE + 2)
    for second in [0, 1, 2, 3, 7, 8, 9]:
        for i in range(50):
            ms = 2.0 + i * 0.1 + second
            recorder.on_request(
                "GET", "/api/products", ms, 100, None, BASE + second + 0.5, None, None
            )
            if i % 5 == 0:
                recorder.on_request(
                    "POST",
                    "/api/checkout",
                    ms * 3,
                    20,
                    CatchResponseError("out_of_stock") if i == 0 else None,
                    BASE + second + 0.6,
                    Response(409 if i == 0 else 201),
                    None,
                )
    recorder.close_windows(BASE + 5)
    return recorder.finish(RUN_START + 12.3)


META = RunMeta(
    run_id="20270115T080000Z-flash-sale",
    scenario_name="flash-sale",
    scenario=load_scenario("flash-sale"),
    workload_model="closed",
    status="completed",
    duration_s=12.3,
)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = new_run_dir(
        tmp_path / "reports", "flash-sale", datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    )
    write_measurements(folder, make_measurements())
    write_run_json(folder, META)
    return folder


def test_new_run_dir_names_and_collisions(tmp_path: Path) -> None:
    when = datetime(2027, 1, 15, 8, 0, 5, tzinfo=UTC)
    first = new_run_dir(tmp_path, "smoke", when)
    second = new_run_dir(tmp_path, "smoke", when)
    third = new_run_dir(tmp_path, "smoke", when)
    assert [p.name for p in (first, second, third)] == [
        "20270115T080005Z-smoke",
        "20270115T080005Z-smoke-2",
        "20270115T080005Z-smoke-3",
    ]
    assert all(p.is_dir() for p in (first, second, third))


def test_round_trip(run_dir: Path) -> None:
    m = make_measurements()
    run = load_run(run_dir)
    data = json.loads((run_dir / "run.json").read_text())
    assert data["format"] == FORMAT and data["format_version"] == FORMAT_VERSION
    assert run.meta == META
    assert run.run_id == META.run_id
    assert run.scenario_name == "flash-sale"
    assert run.status == "completed"
    assert run.workload_model == "closed"
    assert run.duration_s == 12.3
    assert run.summary == m.summary()
    assert run.errors == m.errors
    assert run.errors[0].kind == "http_status" and run.errors[0].count == 7
    assert run.endpoints() == ["GET /api/products", "POST /api/checkout"]

    assert histogram_counts(run.histogram()) == histogram_counts(m.total)
    for name in run.endpoints():
        assert histogram_counts(run.histogram(name)) == histogram_counts(m.endpoints[name])
    with pytest.raises(KeyError, match="GET /api/products"):
        run.histogram("GET /nope")

    windows = list(run.iter_windows())
    assert [second for second, _ in windows] == [0, 1, 2, 3, 7, 8, 9]
    merged = new_histogram()
    for _, hists in windows:
        merged.add(hists["GET /api/products"])
    assert histogram_counts(merged) == histogram_counts(m.endpoints["GET /api/products"])


def test_timeseries_has_a_row_per_second(run_dir: Path) -> None:
    run = load_run(run_dir)
    ts = run.timeseries()
    assert list(ts.columns) == list(TIMESERIES_COLUMNS)
    assert ts["second"].tolist() == list(range(13))  # 0..12, idle seconds included
    assert ts["requests"].tolist() == [60, 60, 60, 60, 0, 0, 0, 60, 60, 60, 0, 0, 0]
    assert ts["users"].tolist() == [10] * 7 + [25] * 6
    idle = ts[ts["requests"] == 0]
    for column in ("mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "error_rate"):
        assert idle[column].isna().all(), column
    busy = ts[ts["requests"] > 0]
    assert not busy["p95_ms"].isna().any()
    assert busy["failures"].tolist() == [1] * 7
    assert ts.loc[0, "time"] == datetime.fromtimestamp(BASE, UTC).isoformat()
    assert ts.loc[2, "gen_cpu_pct"] == 35.0 and ts.loc[2, "gen_lag_ms"] == 1.5
    assert math.isnan(ts.loc[3, "gen_cpu_pct"])
    # second 0: GET 2.0..6.9 ms (50) and POST 6.0..19.5 ms (10): max is exact
    assert ts.loc[0, "max_ms"] == pytest.approx(19.5)
    assert ts["requests"].sum() == run.summary.total.count

    ets = run.endpoint_timeseries()
    assert list(ets.columns) == list(ENDPOINT_TIMESERIES_COLUMNS)
    assert len(ets) == 14
    row = ets[(ets["second"] == 1) & (ets["endpoint"] == "GET /api/products")].iloc[0]
    assert row["requests"] == 50 and row["max_ms"] == pytest.approx(7.9)
    assert 5.4 <= row["p50_ms"] <= 5.4 * 1.001


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    atomic_write_json(target, {"ok": True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"bad": object()})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"nan": float("nan")})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_atomic_write_text_cleans_up_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(layout.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_run_json_adds_format(tmp_path: Path) -> None:
    write_run_json(tmp_path, replace(META, run_id="x"))
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["format"] == FORMAT and data["format_version"] == FORMAT_VERSION
    assert data["run_id"] == "x"


def test_load_run_missing_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(RunFolderError, match="no such run folder") as info:
        load_run(missing)
    assert str(missing) in str(info.value)


def test_load_run_missing_run_json(run_dir: Path) -> None:
    (run_dir / "run.json").unlink()
    with pytest.raises(RunFolderError, match=r"run\.json missing") as info:
        load_run(str(run_dir))
    assert str(run_dir) in str(info.value)
    assert "crashed" in str(info.value)


def test_load_run_bad_json(run_dir: Path) -> None:
    (run_dir / "run.json").write_text('{"format": ')
    with pytest.raises(RunFolderError, match="invalid JSON") as info:
        load_run(run_dir)
    assert str(run_dir / "run.json") in str(info.value)


def test_load_run_future_version(run_dir: Path) -> None:
    data = json.loads((run_dir / "run.json").read_text())
    data["format_version"] = FORMAT_VERSION + 1
    (run_dir / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunFolderError, match=r"format_version 2 is newer") as info:
        load_run(run_dir)
    assert str(run_dir / "run.json") in str(info.value)


def test_load_run_wrong_format(run_dir: Path) -> None:
    (run_dir / "run.json").write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(RunFolderError, match="not a dhakacart-bench run"):
        load_run(run_dir)


def test_load_run_is_lazy(run_dir: Path) -> None:
    (run_dir / "windows.jsonl").write_text("not json\n")
    run = load_run(run_dir)  # does not touch windows.jsonl
    assert list(run.iter_windows()) == []  # the bad line is skipped, not fatal
    assert any("windows.jsonl: 1 bad line(s) skipped: line 1" in p for p in run.problems())
    with pytest.raises(RunFolderError, match=r"incomplete.*line 1"):
        run.require_complete()


def test_importing_does_not_import_locust_or_pandas() -> None:
    code = (
        "import sys, dhakacart_bench.measure.recorder, dhakacart_bench.runfolder.reader; "
        "import dhakacart_bench.runfolder.writer; "
        "bad = [m for m in ('locust', 'gevent', 'pandas', 'matplotlib') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_probe_csv_round_trip() -> None:
    data = [
        Check(0.0, "/health", True, 200, "ok", 1.25),
        Check(0.5, "/health", False, None, "reset", 900.0),
        Check(0.5, "/api/products/1", False, 503, "5xx", 3.0),
    ]
    text = probe_csv_text(data)
    assert text.splitlines()[0] == "t_s,path,ok,status,kind,latency_ms"
    assert read_probe_csv(text) == sorted(data, key=lambda c: (c.t_s, c.path))
    assert classify_status(503) == (False, "5xx")
    assert classify_status(404) == (False, "4xx")
    assert classify_status(302) == (True, "ok")


def test_a_rebuilt_timeseries_matches_the_written_one(make_run) -> None:
    """What windows.jsonl holds (requests, latency per second) is what timeseries.csv
    said: a table rebuilt from the windows loses only the columns the windows lack."""
    from dhakacart_bench.runfolder import series

    folder = make_run(seconds=15)
    run = load_run(folder)
    written = run.timeseries()
    rebuilt = series.rebuild_timeseries(run.iter_windows(), run.endpoint_timeseries())
    assert list(rebuilt["second"]) == list(written["second"])
    for column in ("requests", "failures", "rps", "mean_ms", "p50_ms", "p95_ms", "max_ms"):
        assert rebuilt[column].fillna(-1).tolist() == pytest.approx(
            written[column].fillna(-1).tolist(),
            rel=1e-3,  # the mean: HDR's, not the exact sum
        ), column
    assert rebuilt["users"].isna().all()

    per_endpoint = series.rebuild_endpoint_timeseries(run.iter_windows())
    original = run.endpoint_timeseries()
    for column in ("second", "requests", "p95_ms", "max_ms"):
        assert per_endpoint[column].tolist() == pytest.approx(
            original[column].tolist(),
            rel=1e-3,  # clamped to HDR's min/max, not the exact ones
        ), column
    assert per_endpoint["failures"].isna().all()
