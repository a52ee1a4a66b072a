"""`bench plan`: a count with its interval from a capacity result, and no count from a
run that never reached a limit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_bench.analysis.plan import make_plan
from dhakacart_bench.analysis.plan_capacity import plan_from_capacity
from dhakacart_bench.cli import main
from dhakacart_bench.errors import RunFolderError, UsageError
from dhakacart_bench.runfolder.capacity import (
    CapacityLevel,
    CapacityMeta,
    load_capacity,
    write_capacity_json,
)
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun


def capacity_meta(**changes: object) -> CapacityMeta:
    fields: dict[str, object] = dict(
        scenario_name="flash-sale",
        started_at="2026-12-02T00:00:00+00:00",
        host="http://127.0.0.1:5000",
        target="bundled",
        shares_machine=True,
        status="found",
        store={"workers": 4, "threads": 16, "worker_class": "gthread", "database": "SQLite"},
        sustainable_rate=400.0,
        sustainable_rps=1180.0,
        sustainable_rps_interval=(1120.0, 1240.0),
        breaking_rate=440.0,
        breaking_rps=1300.0,
        breaking_reason="POST /api/checkout p95 rises past 1 s (2.4 s)",
        bottleneck_endpoint="POST /api/checkout",
        requests_per_arrival=2.95,
        requests_per_shopper=0.346,
        think_s=3.4,
        shoppers_per_instance=3410,
        generator_cpu_ms_per_request=0.5,
        levels=(CapacityLevel(index=1, rate=400.0, held=True),),
    )
    fields.update(changes)
    return CapacityMeta(**fields)  # type: ignore[arg-type]


def test_a_capacity_result_gives_an_instance_count_with_its_interval() -> None:
    plan = plan_from_capacity(capacity_meta(), users=100_000)
    needed = 100_000 * 0.346
    assert plan.needed_rps == pytest.approx(needed)
    assert plan.instances == math.ceil(needed / 1180.0)  # 30
    assert plan.instances_interval == (math.ceil(needed / 1240.0), math.ceil(needed / 1120.0))
    # 0.5 CPU-ms per request at 80 % of a core: 1,600 req/s per generator process
    assert plan.worker_rps == pytest.approx(1600.0)
    assert plan.workers == max(math.ceil(needed / 1600.0), 5)
    text = "\n".join(plan.lines())
    assert "store instances     : 30 (28-31)" in text
    assert "the database" in text and "scale out linearly" in text
    assert "shared its machine with the load generator" in text


def test_a_capacity_result_without_a_limit_or_a_shopper_rate_is_refused() -> None:
    with pytest.raises(UsageError, match="no sustainable load"):
        plan_from_capacity(capacity_meta(sustainable_rps=None, status="not_held"), users=10)
    with pytest.raises(UsageError, match="no requests per shopper"):
        plan_from_capacity(capacity_meta(requests_per_shopper=None), users=10)


def test_an_unstressed_run_gives_no_instance_count(make_run: MakeRun) -> None:
    run = load_run(make_run(stepped=True))
    plan = make_plan(run, users=100_000)
    assert plan.instance_rps_lower_bound
    assert plan.instances is None
    assert plan.at_least_shoppers == run.meta.users.peak
    text = "\n".join(plan.lines())
    assert f"held at least {run.meta.users.peak:,} shoppers" in text
    assert "`bench capacity` measures the limit" in text


def test_bench_plan_reads_a_capacity_folder(tmp_path: Path) -> None:
    write_capacity_json(tmp_path, capacity_meta())
    result = CliRunner().invoke(main, ["plan", str(tmp_path), "--users", "100000"])
    assert result.exit_code == 0, result.output
    assert "(from a capacity search)" in result.output
    assert "store instances     : 30 (28-31)" in result.output


def test_capacity_json_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    meta = capacity_meta()
    path = write_capacity_json(tmp_path, meta)
    assert load_capacity(tmp_path) == meta
    data = json.loads(path.read_text())
    assert data["format"] == "dhakacart-bench/capacity" and data["sustainable_rps"] == 1180.0
    data["sustainable_rps"] = "fast"
    path.write_text(json.dumps(data))
    with pytest.raises(RunFolderError, match="sustainable_rps"):
        load_capacity(tmp_path)
    with pytest.raises(RunFolderError, match=r"no capacity\.json"):
        load_capacity(tmp_path / "nope")
