"""A scenario from a locustfile and Locust's flags: defaults, shapes, --slo, bench init's TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.errors import ScenarioError, UsageError
from dhakacart_bench.scenario.from_locust import (
    ClassInfo,
    LocustfileInfo,
    LocustFlags,
    parse_slo_flags,
    scenario_from_locustfile,
    scenario_toml,
)
from dhakacart_bench.scenario.model import Stage
from dhakacart_bench.scenario.parse import load_scenario_file

BASIC = Path(__file__).parents[2] / "examples" / "basic.py"


def _info(**kw: object) -> LocustfileInfo:
    fields: dict[str, object] = {
        "path": BASIC,
        "classes": (ClassInfo("Browser", weight=3), ClassInfo("Buyer", weight=1)),
        "doc": "Two shoppers.\n\nMore words.",
    }
    fields.update(kw)
    return LocustfileInfo(**fields)  # type: ignore[arg-type]


def test_flags_become_one_stage_with_locusts_meanings() -> None:
    scenario, notes = scenario_from_locustfile(
        _info(), LocustFlags(users=10, spawn_rate=10, run_time_s=10)
    )
    assert scenario.load.stages == (Stage(duration_s=10, users=10, spawn_rate=10),)
    assert scenario.load.peak_users == 10 and scenario.load.model == "closed"
    assert [(u.class_name, u.weight) for u in scenario.users] == [("Browser", 3), ("Buyer", 1)]
    assert scenario.name == "basic" and scenario.description == "Two shoppers."
    assert scenario.shape_class is None and notes == ()


def test_locusts_defaults_one_user_one_per_second() -> None:
    scenario, _ = scenario_from_locustfile(_info(), LocustFlags(run_time_s=5))
    assert scenario.load.stages == (Stage(duration_s=5, users=1, spawn_rate=1.0),)


def test_run_time_is_needed_without_a_shape() -> None:
    with pytest.raises(UsageError, match="-t/--run-time is needed"):
        scenario_from_locustfile(_info(), LocustFlags(users=3))


def test_user_classes_chosen_on_the_command_line() -> None:
    scenario, _ = scenario_from_locustfile(
        _info(), LocustFlags(user_classes=("Buyer",), run_time_s=5)
    )
    assert [u.class_name for u in scenario.users] == ["Buyer"]
    with pytest.raises(UsageError, match=r"no User class 'Nobody'.*it has: Browser, Buyer"):
        scenario_from_locustfile(_info(), LocustFlags(user_classes=("Nobody",), run_time_s=5))


def test_fixed_count_is_kept() -> None:
    info = _info(classes=(ClassInfo("Admin", fixed_count=2), ClassInfo("Browser")))
    scenario, _ = scenario_from_locustfile(info, LocustFlags(users=10, run_time_s=5))
    assert scenario.users[0].fixed_count == 2 and scenario.users[1].fixed_count is None


def test_a_shape_sets_the_load_and_the_flags_are_named_as_ignored() -> None:
    stages = (Stage(3, 5, 5.0), Stage(3, 10, 5.0))
    info = _info(shape="StepShape", shape_stages=stages)
    scenario, notes = scenario_from_locustfile(info, LocustFlags(users=99, run_time_s=60))
    assert scenario.load.stages == stages and scenario.load.peak_users == 10
    assert scenario.shape_class == "StepShape"
    assert notes == (
        "StepShape (a LoadTestShape) drives the load: -u, -t ignored, as Locust ignores them",
    )


def test_no_user_class_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="no User class"):
        scenario_from_locustfile(_info(classes=()), LocustFlags(run_time_s=5))


def test_slo_flags_parse_like_slo_tables() -> None:
    slos = parse_slo_flags(
        ["p95_ms<500", "error_rate<=0.01", "rps>100", "p99_ms[GET /api/cart]<800"]
    )
    assert [(s.metric, s.endpoint, s.max, s.min) for s in slos] == [
        ("p95_ms", "*", 500, None),
        ("error_rate", "*", 0.01, None),
        ("rps", "*", None, 100),
        ("p99_ms", "GET /api/cart", 800, None),
    ]
    assert slos[0].name  # named as a [[slo]] table would be


@pytest.mark.parametrize(
    ("text", "match"),
    [("p95_ms 500", "expected METRIC<VALUE"), ("p95_ms>500", "use max"), ("nope<1", "metric")],
)
def test_bad_slo_flags_are_refused(text: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse_slo_flags([text])


def test_the_written_toml_validates_and_means_the_same(tmp_path: Path) -> None:
    scenario, _ = scenario_from_locustfile(
        _info(classes=(ClassInfo("WebsiteUser", weight=2),)),
        LocustFlags(users=50, spawn_rate=5, run_time_s=120, slos=parse_slo_flags(["p95_ms<500"])),
    )
    out = tmp_path / "scenarios" / "basic.toml"
    out.parent.mkdir()
    out.write_text(scenario_toml(scenario, out=out, host="http://127.0.0.1:9"))
    loaded = load_scenario_file(out)
    assert loaded.load.stages == scenario.load.stages
    assert loaded.users == scenario.users
    assert loaded.host == "http://127.0.0.1:9"
    assert [(s.metric, s.max) for s in loaded.slos] == [("p95_ms", 500)]
    assert loaded.locustfile.resolve() == BASIC.resolve()


def test_the_command_line_chooses_a_scenario_or_a_locustfile() -> None:
    from dhakacart_bench.cli.locust_flags import choose_scenario

    def options(*names: str, **more: object) -> dict[str, object]:
        base: dict[str, object] = {
            "scenario": names, "locustfile": None, "spawn_rate": None, "run_time_s": None,
            "locust_config": None, "slo_flags": (), "host": None, "users": None,
            "duration_s": None,
        }  # fmt: skip
        base.update(more)
        return base

    chosen = choose_scenario(options("smoke", slo_flags=("p99_ms<900",)))
    assert chosen.scenario.name == "smoke" and chosen.scenario.slos[-1].metric == "p99_ms"
    with pytest.raises(UsageError, match="one SCENARIO at a time"):
        choose_scenario(options("smoke", "browse"))
    with pytest.raises(UsageError, match="-r, -t and --config go with -f"):
        choose_scenario(options("smoke", run_time_s=10.0))
    with pytest.raises(UsageError, match="with -f use -t"):
        choose_scenario(options(locustfile=BASIC, duration_s=10.0))
    from_file = choose_scenario(options(str(BASIC), run_time_s=5.0, users=3))
    assert from_file.scenario.load.peak_users == 3 and from_file.users is None
