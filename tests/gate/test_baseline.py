"""Baseline files: saving, loading, refusing what does not fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dhakacart_bench.errors import BaselineError
from dhakacart_bench.gate.baseline import (
    FORMAT,
    FORMAT_VERSION,
    baseline_from_run,
    load_baseline,
    run_blocks,
    save_baseline,
    scenario_identity,
)
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.blocks import MAX_BLOCKS, block_seconds
from dhakacart_bench.stats.hdr import hist_stats
from tests.synthetic import MakeRun, default_slos, write_synthetic_run

SMOKE_ENDPOINTS = {
    "GET /api/products": 6.0,
    "GET /api/products/[id]": 4.0,
    "GET /api/products/search": 8.0,
    "POST /api/auth/register": 9.0,
    "POST /api/cart/items": 7.0,
    "POST /api/checkout": 20.0,
}


def smoke_like(tmp_path: Path, **kwargs: Any) -> Path:
    """A smoke-sized run: 25 s, 6 endpoints, ~40 requests/s."""
    options: dict[str, Any] = {
        "seconds": 25,
        "endpoints": SMOKE_ENDPOINTS,
        "users_profile": lambda s: 8,
        "scenario_name": "smoke",
        "seed": 1,
    }
    options.update(kwargs)
    return write_synthetic_run(tmp_path, **options)


def edit_meta(folder: Path, **changes: Any) -> None:
    meta = json.loads((folder / "run.json").read_text())
    meta.update(changes)
    (folder / "run.json").write_text(json.dumps(meta))


def write_doc(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


@pytest.fixture
def good_doc(tmp_path: Path) -> dict[str, Any]:
    return baseline_from_run(load_run(smoke_like(tmp_path))).to_dict()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    run = load_run(smoke_like(tmp_path))
    path = save_baseline(run, tmp_path / "ci" / "baseline.json")
    doc = json.loads(path.read_text())
    assert doc["format"] == FORMAT and doc["format_version"] == FORMAT_VERSION
    assert doc["toolkit_version"] and doc["run_id"] == run.run_id
    assert doc["scenario"] == dict(zip(("name", "hash"), scenario_identity(run.meta), strict=True))
    assert set(doc["environment"]) == {
        "python",
        "locust",
        "platform",
        "cpu_count",
        "target",
        "host",
    }
    assert doc["environment"]["host"] == "bundled store"  # random port: not a difference
    assert set(doc["endpoints"]) == {*SMOKE_ENDPOINTS, "*"}
    assert path.stat().st_size < 200_000

    baseline = load_baseline(path)
    assert baseline.block_s == 1
    for endpoint in (*SMOKE_ENDPOINTS, "*"):
        ep = baseline.endpoints[endpoint]
        assert len(ep.blocks) == 25
        assert ep.count == ep.histogram().get_total_count()
        # the merged blocks give exactly the run's whole-run percentiles
        assert hist_stats(ep.histogram()) == hist_stats(run.histogram(endpoint))


def test_a_run_folder_is_a_baseline_too(tmp_path: Path) -> None:
    folder = smoke_like(tmp_path)
    from_folder = load_baseline(folder)
    from_file = load_baseline(save_baseline(load_run(folder), tmp_path / "b.json"))
    assert from_folder.scenario_hash == from_file.scenario_hash
    assert from_folder.endpoints["*"].blocks == from_file.endpoints["*"].blocks


def test_long_runs_are_cut_into_at_most_max_blocks(make_run: MakeRun, tmp_path: Path) -> None:
    assert block_seconds(25) == 1
    assert block_seconds(MAX_BLOCKS) == 1
    assert block_seconds(3600) == 30
    run = load_run(make_run(seconds=300, endpoints=["GET /a"], users_profile=lambda s: 4))
    blocks = run_blocks(run, ["*", "GET /a"])
    assert blocks["*"].block_s == 3
    assert len(blocks["*"].blocks) == 100
    assert blocks["*"].count == blocks["GET /a"].count == run.summary.total.count


def test_default_path_is_reports_baseline_json(tmp_path: Path, monkeypatch: Any) -> None:
    run = load_run(smoke_like(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert save_baseline(run) == Path("reports/baseline.json")
    assert (tmp_path / "reports" / "baseline.json").is_file()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"status": "interrupted", "status_reason": "Ctrl-C"}, "interrupted"),
        ({"saturated": True}, "saturated"),
        ({"seconds": 3}, "requests were measured"),
    ],
)
def test_an_invalid_run_is_refused_unless_forced(
    tmp_path: Path, kwargs: dict[str, Any], words: str
) -> None:
    run = load_run(smoke_like(tmp_path, gate={"min_requests": 200}, **kwargs))
    with pytest.raises(BaselineError, match=words) as caught:
        save_baseline(run, tmp_path / "b.json")
    assert "--force" in str(caught.value)
    assert not (tmp_path / "b.json").exists()
    assert save_baseline(run, tmp_path / "b.json", force=True).is_file()


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(format_version=2), "format_version 2 is newer"),
        (lambda d: d.update(format="something/else"), "not a dhakacart-bench baseline"),
        (lambda d: d.update(format_version="1"), "format_version '1'"),
        (lambda d: d.pop("scenario"), "scenario.name missing"),
        (lambda d: d["scenario"].pop("hash"), "scenario.hash missing"),
        (lambda d: d.update(endpoints={}), "no endpoints"),
        (lambda d: d.update(block_s=0), "block_s 0"),
        (lambda d: d["endpoints"]["*"].update(blocks=["not base64 hdr"]), "not an HDR histogram"),
        (lambda d: d["endpoints"]["*"].pop("summary"), "needs a summary"),
    ],
)
def test_invalid_baselines_are_refused(
    tmp_path: Path, good_doc: dict[str, Any], mutate: Any, words: str
) -> None:
    mutate(good_doc)
    with pytest.raises(BaselineError, match=words):
        load_baseline(write_doc(tmp_path, good_doc))


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"no such baseline file.*bench baseline save"):
        load_baseline(tmp_path / "nope.json")
    with pytest.raises(BaselineError, match="invalid JSON at line 1"):
        load_baseline(write_doc(tmp_path, "{not json"))
    with pytest.raises(BaselineError, match="expected a JSON object"):
        load_baseline(write_doc(tmp_path, [1, 2]))
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(BaselineError, match=r"baseline run folder: .*run.json missing"):
        load_baseline(tmp_path / "empty-run")


def test_another_scenario_or_a_changed_one_is_refused(tmp_path: Path) -> None:
    baseline = load_baseline(smoke_like(tmp_path / "a"))
    other = load_run(smoke_like(tmp_path / "b", scenario_name="checkout"))
    with pytest.raises(BaselineError, match=r"baseline of scenario 'smoke'.*'checkout'"):
        baseline.check_matches(other)
    slos = default_slos()
    slos[0]["max"] = 300.0
    changed = load_run(smoke_like(tmp_path / "c", slos=slos))
    with pytest.raises(BaselineError, match="has changed since the baseline was saved"):
        baseline.check_matches(changed)


def test_a_changed_gate_margin_keeps_the_baseline(tmp_path: Path) -> None:
    baseline = load_baseline(smoke_like(tmp_path / "a"))
    run = load_run(smoke_like(tmp_path / "b", gate={"p95_regression_pct": 40.0}, seed=2))
    assert baseline.check_matches(run) == []


def test_environment_differences_are_warnings(tmp_path: Path) -> None:
    baseline = load_baseline(smoke_like(tmp_path / "a"))
    folder = smoke_like(tmp_path / "b", seed=2)
    meta = json.loads((folder / "run.json").read_text())
    meta["versions"]["python"] = "3.12.1"
    meta["generator"]["cpu_count"] = 16
    (folder / "run.json").write_text(json.dumps(meta))
    [warning] = baseline.check_matches(load_run(folder))
    assert "python 3.11.7 → 3.12.1" in warning
    assert "cpu_count 2 → 16" in warning


def test_external_host_is_part_of_the_environment(tmp_path: Path) -> None:
    a = smoke_like(tmp_path / "a", invariants=None)
    b = smoke_like(tmp_path / "b", invariants=None, seed=2)
    edit_meta(b, host="https://staging.example.test")
    [warning] = load_baseline(a).check_matches(load_run(b))
    assert "host http://127.0.0.1:54321 → https://staging.example.test" in warning


def test_several_runs_pool_into_one_baseline(tmp_path: Path) -> None:
    runs = [load_run(smoke_like(tmp_path / str(seed), seed=seed)) for seed in (1, 2, 3)]
    path = save_baseline(runs, tmp_path / "pooled.json")
    doc = json.loads(path.read_text())
    assert doc["runs"] == [run.run_id for run in runs]
    baseline = load_baseline(path)
    assert baseline.run_ids == tuple(run.run_id for run in runs)
    total = baseline.endpoints["*"]
    assert len(total.blocks) == 75
    assert total.count == sum(run.summary.total.count for run in runs)
    assert total.run_p95_ms == tuple(run.summary.total.p95_ms for run in runs)
    assert total.histogram().get_total_count() == total.count


def test_pooled_runs_must_be_of_one_scenario(tmp_path: Path) -> None:
    a = load_run(smoke_like(tmp_path / "a"))
    b = load_run(smoke_like(tmp_path / "b", users_profile=lambda s: 9))  # another load
    with pytest.raises(BaselineError, match="not a run of the same scenario"):
        save_baseline([a, b], tmp_path / "b.json")


def test_invalid_run_p95_list_is_refused(tmp_path: Path, good_doc: dict[str, Any]) -> None:
    good_doc["endpoints"]["*"]["run_p95_ms"] = ["fast"]
    with pytest.raises(BaselineError, match="run_p95_ms must be a list of positive numbers"):
        load_baseline(write_doc(tmp_path, good_doc))
