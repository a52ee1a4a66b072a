"""ab.json: written and read back, bad files named, and `latest` finds A/B folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.runfolder.ab import (
    ABMeta,
    ArmMeta,
    LookMeta,
    is_ab_folder,
    read_ab_json,
    write_ab_json,
)
from dhakacart_bench.runfolder.reader import resolve_run_dir


def _meta() -> ABMeta:
    return ABMeta(
        run_id="20261202T000000Z-ab-smoke",
        scenario_name="ab-smoke",
        started_at="2026-12-02T00:00:00+00:00",
        duration_s=22.5,
        arms={
            "candidate": ArmMeta(
                "http://127.0.0.1:1",
                "candidate",
                "bundled",
                {"faults": {"latency_ms": {"*": 2}}},
                5,
            ),
            "baseline": ArmMeta("http://127.0.0.1:2", "baseline", "bundled", {}, 5),
        },
        plan={"min_s": 10.0, "every_s": 5.0, "max_s": 60.0, "min_requests": 1000, "alpha": 0.05},
        margin_pct=5.0,
        error_margin_pct=1.0,
        endpoints=("*",),
        looks=(LookMeta(10.2, 8, None), LookMeta(15.1, 13, "FAIL")),
        stopped_at_s=15.1,
        stop_reason="the A/B gate decided FAIL after 15 s",
        seed=7,
    )


def test_ab_json_round_trips(tmp_path: Path) -> None:
    meta = _meta()
    write_ab_json(tmp_path, meta)
    assert is_ab_folder(tmp_path)
    assert read_ab_json(tmp_path) == meta
    assert meta.arm_dir(tmp_path, "candidate") == tmp_path / "candidate"


def test_the_look_plan_is_rejudged_as_it_was_written(tmp_path: Path) -> None:
    import dataclasses

    from dhakacart_bench.gate.ab_judge import rules_of

    # a folder from before the spending schedule: Bonferroni over the looks, as decided
    old = _meta()
    write_ab_json(tmp_path, old)
    plan = rules_of(read_ab_json(tmp_path)).plan
    assert plan.hsd_gamma is None and plan.warmup_s == 0.0
    # a folder of today: its spending parameter and warm-up come back
    new = dataclasses.replace(old, plan={**old.plan, "warmup_s": 5.0, "hsd_gamma": -2.0})
    write_ab_json(tmp_path, new)
    plan = rules_of(read_ab_json(tmp_path)).plan
    assert plan.hsd_gamma == -2.0 and plan.warmup_s == 5.0
    assert plan.z(2, 60) < plan.z(2, 10)  # later looks narrower


def test_a_bad_ab_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "ab.json").write_text('{"format": "something-else"}')
    with pytest.raises(RunFolderError, match=r"ab\.json: invalid"):
        read_ab_json(tmp_path)
    with pytest.raises(RunFolderError, match=r"not an A/B run folder"):
        read_ab_json(tmp_path / "nowhere")


def test_latest_finds_the_newest_folder_single_or_ab(tmp_path: Path) -> None:
    single = tmp_path / "20261201T000000Z-smoke"
    single.mkdir()
    (single / "run.json").write_text("{}")
    assert resolve_run_dir("latest", tmp_path) == single
    ab = tmp_path / "20261202T000000Z-ab-smoke"
    ab.mkdir()
    write_ab_json(ab, _meta())
    assert resolve_run_dir("latest", tmp_path, ab=True) == ab
    assert resolve_run_dir("latest", tmp_path) == single  # e.g. `bench baseline save latest`
