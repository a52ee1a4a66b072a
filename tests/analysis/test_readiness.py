""" "Ready for the sale?" from a capacity result x instances: Yes only when the lower end
of the measured interval, times the instances, covers the scenario's reference size."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_bench.analysis.readiness import readiness
from dhakacart_bench.cli import main
from dhakacart_bench.errors import UsageError
from dhakacart_bench.runfolder.capacity import write_capacity_json
from tests.analysis.test_plan_capacity import capacity_meta

# sustainable 1,180 req/s, but the interval's lower end is 1,120: at 0.346 req/s per
# shopper that is 3,236 shoppers per instance (1,180 would give 3,410)
SALE = capacity_meta(reference_users=100_000)


def test_enough_instances_at_the_intervals_lower_end_answer_yes() -> None:
    answer = readiness(SALE, instances=31)
    assert answer.ready
    assert answer.shoppers_per_instance == 3236
    assert answer.covered == 31 * 3236 >= 100_000
    assert answer.headline.startswith("Yes — 31 instances \u00d7 \u22653,236 shoppers each")
    assert "cover the 100,000 shoppers the flash-sale scenario is written for" in answer.headline
    assert "1,120 req/s" in answer.headline and "lower end of its interval" in answer.headline
    text = "\n".join(answer.lines())
    assert "scale out linearly" in text and "shared database" in text
    assert "shared its machine with the load generator" in text
    assert "used SQLite, which instances on different machines cannot share" in text


def test_the_sustainable_point_figure_is_not_enough_when_the_lower_end_falls_short() -> None:
    # 30 x 3,410 = 102,300 would cover the sale; 30 x 3,236 = 97,080 does not
    answer = readiness(SALE, instances=30)
    assert not answer.ready
    assert answer.covered == 97_080
    assert answer.instances_needed == 31
    assert answer.headline.startswith("Not shown — 30 instances \u00d7 \u22653,236 shoppers each")
    assert "cover 97,080 of the 100,000 shoppers" in answer.headline
    assert "at least 31 instances are needed" in answer.headline


def test_too_few_instances_are_not_ready() -> None:
    assert not readiness(SALE, instances=1).ready
    assert readiness(SALE, instances=1).instances_needed == 31


def test_the_size_to_cover_is_the_reference_size_or_more() -> None:
    # planning for 500 shoppers does not make one instance ready for a 100,000 sale
    assert not readiness(SALE, instances=1, users=500).ready
    assert readiness(SALE, instances=31, users=150_000).target_users == 150_000
    assert not readiness(SALE, instances=31, users=150_000).ready
    with pytest.raises(UsageError, match="no size to cover"):
        readiness(capacity_meta(), instances=3)


def test_no_sustainable_load_or_no_shopper_rate_is_never_yes() -> None:
    none_held = capacity_meta(
        reference_users=100_000, sustainable_rps=None, sustainable_rps_interval=None
    )
    answer = readiness(none_held, instances=10_000)
    assert not answer.ready and "no sustainable load" in answer.headline
    no_rate = capacity_meta(reference_users=100_000, requests_per_shopper=None)
    assert not readiness(no_rate, instances=10_000).ready


def test_bench_plan_instances_answers_and_exits_1_when_short(tmp_path: Path) -> None:
    write_capacity_json(tmp_path, SALE)
    enough = CliRunner().invoke(main, ["plan", str(tmp_path), "--instances", "31"])
    assert enough.exit_code == 0, enough.output
    assert "Plan for 100,000 concurrent shoppers" in enough.output  # --users defaults
    assert "Ready for the sale? Yes — 31 instances" in enough.output
    short = CliRunner().invoke(main, ["plan", str(tmp_path), "--instances", "30"])
    assert short.exit_code == 1, short.output
    assert "Ready for the sale? Not shown — 30 instances" in short.output


def test_bench_plan_instances_needs_a_capacity_folder(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    result = CliRunner().invoke(main, ["plan", str(tmp_path), "--instances", "3"])
    assert result.exit_code == 2, result.output
    assert "--instances needs a `bench capacity` folder" in result.output


def test_an_older_capacity_result_without_its_size_needs_users(tmp_path: Path) -> None:
    write_capacity_json(tmp_path, capacity_meta())  # no reference_users recorded
    result = CliRunner().invoke(main, ["plan", str(tmp_path), "--instances", "31"])
    assert result.exit_code == 2, result.output
    assert "pass --users" in result.output
    given = CliRunner().invoke(
        main, ["plan", str(tmp_path), "--instances", "31", "--users", "100000"]
    )
    assert given.exit_code == 0, given.output
    assert "Ready for the sale? Yes — 31 instances" in given.output
