"""Scenario files: parsing, validation, lookup, scaling and the dict round trip."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dhakacart_bench.errors import ScenarioError, UsageError
from dhakacart_bench.measure.shapes import target_at
from dhakacart_bench.scenario.lookup import list_scenarios, load_scenario, scan_scenarios
from dhakacart_bench.scenario.model import (
    SLO,
    GateSpec,
    LoadSpec,
    Scenario,
    Stage,
    StoreSpec,
    UserSpec,
    scenario_from_dict,
)
from dhakacart_bench.scenario.resources import bundled_dir, find_locustfile

LOCUSTFILE = """\
from locust import HttpUser, task
from common import SharedUser as Imported


class Browser(HttpUser):
    @task
    def index(self):
        self.client.get("/")


class Buyer(HttpUser):
    pass


class Reader(HttpUser):
    pass
"""


BASE = """\
locustfile = "shop.py"

[[users]]
class = "Browser"

[load]

[[load.stages]]
duration = "10s"
users = 5
"""


OPEN = """\
locustfile = "shop.py"

[[users]]
class = "Reader"

[load]
model = "open"
max_users = 20

[[load.stages]]
duration = "10s"
arrival_rate = 5.0
ramp = true
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: scenarios/ and locustfiles/ side by side."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "locustfiles").mkdir()
    (tmp_path / "locustfiles" / "shop.py").write_text(LOCUSTFILE)
    return tmp_path


def write(project: Path, text: str, name: str = "demo") -> Path:
    path = project / "scenarios" / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


def load(project: Path, text: str, name: str = "demo") -> Scenario:
    return load_scenario(write(project, text, name), cwd=project)


def _replace(old: str, new: str, base: str = BASE) -> str:
    assert old in base
    return base.replace(old, new, 1)


BAD_FILES = {
    "toml-syntax": (
        "locustfile = 'shop.py'\n[load\n",
        None,
        ["invalid TOML", "line 2"],
    ),
    "unknown-top-key": (
        'descripton = "x"\n' + BASE,
        "descripton",
        ['unknown key "descripton"', 'did you mean "description"'],
    ),
    "unknown-stage-key": (
        _replace('duration = "10s"', 'duraton = "10s"'),
        "load.stages[0].duraton",
        ['did you mean "duration"'],
    ),
    "unknown-table": (
        BASE + "[stor]\nproducts = 1\n",
        "stor",
        ['did you mean "store"'],
    ),
    "slos-plural": (
        BASE + '[[slos]]\nmetric = "p95_ms"\nmax = 1\n',
        "slos",
        ['did you mean "slo"'],
    ),
    "weight-string": (
        _replace('class = "Browser"', 'class = "Browser"\nweight = "3"'),
        "users[0].weight",
        ['expected a positive integer, got "3"'],
    ),
    "weight-bool": (
        _replace('class = "Browser"', 'class = "Browser"\nweight = true'),
        "users[0].weight",
        ["expected a positive integer, got true (a boolean)"],
    ),
    "users-float": (
        _replace("users = 5", "users = 5.0"),
        "load.stages[0].users",
        ["expected an integer >= 0, got 5.0"],
    ),
    "stage-users-negative": (
        BASE + '[[load.stages]]\nduration = "5s"\nusers = 5\n'
        '[[load.stages]]\nduration = "5s"\nusers = -3\n',
        "load.stages[2].users",
        ["expected an integer >= 0, got -3"],
    ),
    "products-zero": (
        BASE + "[store]\nproducts = 0\n",
        "store.products",
        ["expected a positive integer, got 0"],
    ),
    "spawn-rate-negative": (
        _replace("users = 5", "users = 5\nspawn_rate = -1"),
        "load.stages[0].spawn_rate",
        ["expected a positive number, got -1"],
    ),
    "bad-duration": (
        _replace('duration = "10s"', 'duration = "10 minutes"'),
        "load.stages[0].duration",
        ["expected a duration such as", '"10 minutes"'],
    ),
    "zero-duration": (
        _replace('duration = "10s"', 'duration = "0s"'),
        "load.stages[0].duration",
        ["longer than zero"],
    ),
    "negative-duration": (
        _replace('duration = "10s"', "duration = -5"),
        "load.stages[0].duration",
        ["not negative"],
    ),
    "bad-deal-opens-at": (
        BASE + '[store]\ndeal_opens_at = "soon"\n',
        "store.deal_opens_at",
        ['got "soon"'],
    ),
    "closed-stage-without-users": (
        _replace("users = 5", "spawn_rate = 5"),
        "load.stages[0].users",
        ["missing required key", "users = N"],
    ),
    "closed-stage-with-arrival-rate": (
        _replace("users = 5", "users = 5\narrival_rate = 3"),
        "load.stages[0].arrival_rate",
        ["open-model stages"],
    ),
    "closed-with-max-users": (
        _replace("[load]", "[load]\nmax_users = 5"),
        "load.max_users",
        ["open model only"],
    ),
    "all-stages-zero-users": (
        _replace("users = 5", "users = 0"),
        "load.stages",
        ["at least one stage with users >= 1"],
    ),
    "open-stage-without-arrival-rate": (
        _replace("arrival_rate = 5.0", "", OPEN),
        "load.stages[0].arrival_rate",
        ["missing required key", "arrival_rate"],
    ),
    "open-stage-with-users": (
        _replace("arrival_rate = 5.0", "arrival_rate = 5.0\nusers = 3", OPEN),
        "load.stages[0].users",
        ["closed-model stages"],
    ),
    "open-without-max-users": (
        _replace("max_users = 20", "", OPEN),
        "load.max_users",
        ["missing required key", "max_users = N"],
    ),
    "open-ramp-not-bool": (
        _replace("ramp = true", 'ramp = "yes"', OPEN),
        "load.stages[0].ramp",
        ['expected true or false, got "yes"'],
    ),
    "bad-arrival": (
        _replace("max_users = 20", 'max_users = 20\narrival = "poison"', OPEN),
        "load.arrival",
        ['did you mean "poisson"'],
    ),
    "bad-model": (
        _replace("[load]", '[load]\nmodel = "clsoed"'),
        "load.model",
        ['expected "closed" or "open", got "clsoed"', 'did you mean "closed"'],
    ),
    "reference-users-mismatch": (
        _replace("[load]", "[load]\nreference_users = 100"),
        "load.reference_users",
        ["largest stage users = 5", "got 100"],
    ),
    "stages-not-array": (
        'locustfile = "shop.py"\n[[users]]\nclass = "Browser"\n'
        '[load]\n[load.stages]\nduration = "1s"\nusers = 1\n',
        "load.stages",
        ["expected an array of tables ([[load.stages]]), got a table"],
    ),
    "no-stages": (
        'locustfile = "shop.py"\n[[users]]\nclass = "Browser"\n[load]\nmodel = "closed"\n',
        "load.stages",
        ["missing required [[load.stages]]"],
    ),
    "no-load": (
        'locustfile = "shop.py"\n[[users]]\nclass = "Browser"\n',
        "load",
        ["missing required [load]"],
    ),
    "no-users": (
        'locustfile = "shop.py"\n[load]\n[[load.stages]]\nduration = 1\nusers = 1\n',
        "users",
        ["missing required [[users]]"],
    ),
    "unknown-user-class": (
        _replace('class = "Browser"', 'class = "Browsr"'),
        "users[0].class",
        [
            '"Browsr" is not defined in',
            "shop.py",
            'did you mean "Browser"',
            "classes there: Browser, Buyer, Reader",
        ],
    ),
    "duplicate-user-class": (
        BASE + '[[users]]\nclass = "Browser"\n',
        "users[1].class",
        ["listed twice"],
    ),
    "weight-and-fixed-count": (
        _replace('class = "Browser"', 'class = "Browser"\nweight = 2\nfixed_count = 1'),
        "users[0].fixed_count",
        ["either weight or fixed_count"],
    ),
    "missing-locustfile": (
        _replace('"shop.py"', '"nowhere.py"'),
        "locustfile",
        ['"nowhere.py" not found', "locustfiles"],
    ),
    "no-locustfile-key": (
        BASE.replace('locustfile = "shop.py"\n', ""),
        "locustfile",
        ["missing required key"],
    ),
    "bad-slo-metric": (
        BASE + '[[slo]]\nmetric = "p95"\nmax = 5\n',
        "slo[0].metric",
        ['did you mean "p95_ms"', "p99_ms"],
    ),
    "slo-without-bounds": (
        BASE + '[[slo]]\nmetric = "rps"\n',
        "slo[0]",
        ["expected min (and/or max)", "got neither"],
    ),
    "latency-slo-without-max": (
        BASE + '[[slo]]\nmetric = "p95_ms"\n',
        "slo[0].max",
        ["missing required key", "milliseconds"],
    ),
    "latency-slo-with-min": (
        BASE + '[[slo]]\nmetric = "p95_ms"\nmin = 3\n',
        "slo[0].min",
        ["use max, not min"],
    ),
    "error-rate-above-one": (
        BASE + '[[slo]]\nmetric = "error_rate"\nmax = 1.5\n',
        "slo[0].max",
        ["expected a number from 0 to 1, got 1.5"],
    ),
    "slo-max-inf": (
        BASE + '[[slo]]\nmetric = "p95_ms"\nmax = inf\n',
        "slo[0].max",
        ["got inf"],
    ),
    "invariants-with-max": (
        BASE + '[[slo]]\nmetric = "invariants"\nmax = 0\n',
        "slo[0].max",
        ["takes no max"],
    ),
    "rps-min-above-max": (
        BASE + '[[slo]]\nmetric = "rps"\nmin = 5\nmax = 1\n',
        "slo[0].min",
        ["expected min <= max"],
    ),
    "bad-host-scheme": (
        'host = "ftp://example.com"\n' + BASE,
        "host",
        ["expected an http(s) URL", '"ftp://example.com"'],
    ),
    "host-without-scheme": (
        'host = "localhost:8000"\n' + BASE,
        "host",
        ["expected an http(s) URL"],
    ),
    "host-bad-port": (
        'host = "http://localhost:99999"\n' + BASE,
        "host",
        ["expected an http(s) URL"],
    ),
    "host-not-string": (
        "host = 8080\n" + BASE,
        "host",
        ["expected a string, got 8080"],
    ),
    "name-not-slug": (
        'name = "Flash Sale"\n' + BASE,
        "name",
        ["expected a slug"],
    ),
    "faults-not-table": (
        BASE + '[store]\nfaults = "slow"\n',
        "store.faults",
        ["expected a table ([store.faults])"],
    ),
    "store-not-table": (
        "store = 3\n" + BASE,
        "store",
        ["expected a table ([store]), got 3"],
    ),
    "gate-endpoints-empty": (
        BASE + "[gate]\nendpoints = []\n",
        "gate.endpoints",
        ["non-empty array", "got []"],
    ),
    "gate-negative-pct": (
        BASE + "[gate]\np95_regression_pct = -1\n",
        "gate.p95_regression_pct",
        ["expected a number >= 0, got -1"],
    ),
    "gate-instance-spread-not-a-percent": (
        BASE + "[gate]\nab_instance_spread_pct = 250\n",
        "gate.ab_instance_spread_pct",
        ["expected a number from 0 to 100, got 250"],
    ),
    "gate-reconnect-negative": (
        BASE + "[gate]\nab_reconnect_every = -5\n",
        "gate.ab_reconnect_every",
        ["expected an integer >= 0, got -5"],
    ),
}


BUNDLED = sorted(p.stem for p in bundled_dir("scenarios").glob("*.toml"))


FLASH = """\
locustfile = "shop.py"
[[users]]
class = "Browser"
[store]
deal_opens_at = "60s"
[load]
reference_users = 100000
default_users = 500
[[load.stages]]
duration = "60s"
users = 40000
[[load.stages]]
duration = "10s"
users = 100000
spawn_rate = 6000
[[load.stages]]
duration = "60s"
users = 100000
[[load.stages]]
duration = "20s"
users = 0
"""


def test_minimal_closed_scenario_defaults(project: Path) -> None:
    s = load(project, BASE)
    assert s.name == "demo"
    assert s.description == ""
    assert s.host is None
    assert s.locustfile == (project / "locustfiles" / "shop.py").resolve()
    assert s.users == (UserSpec("Browser", weight=1),)
    assert s.store == StoreSpec()
    assert s.load == LoadSpec(
        model="closed",
        stages=(Stage(duration_s=10.0, users=5),),
        reference_users=5,
        default_users=5,
    )
    assert s.slos == ()
    assert s.gate == GateSpec()
    assert s.scale == 1.0


def test_full_closed_scenario(project: Path) -> None:
    s = load(
        project,
        """\
        name = "flash"
        description = "  A flash sale.  "
        locustfile = "shop.py"
        host = "https://staging.example.com/"

        [[users]]
        class = "Browser"
        weight = 3

        [[users]]
        class = "Buyer"
        fixed_count = 2

        [store]
        products = 10
        deal_stock = 0
        deal_per_user_limit = 2
        deal_opens_at = "1m30s"
        workers = 4
        threads = 8
        users = 100

        [store.faults]
        latency_ms = 50
        paths = ["/api/checkout"]

        [load]
        model = "closed"
        reference_users = 1000
        default_users = 50

        [[load.stages]]
        duration = 60
        users = 400

        [[load.stages]]
        duration = "10s"
        users = 1000
        spawn_rate = 60

        [[load.stages]]
        duration = "1h"
        users = 0

        [[slo]]
        name = "Product pages"
        metric = "p95_ms"
        endpoint = "GET /api/products/[id]"
        max = 500

        [[slo]]
        metric = "rps"
        min = 10

        [[slo]]
        metric = "error_rate"
        max = 0.01

        [[slo]]
        metric = "invariants"

        [gate]
        p95_regression_pct = 12.5
        endpoints = ["*", "GET /api/products/[id]"]
        min_requests = 0
        """,
    )
    assert s.name == "flash"
    assert s.description == "A flash sale."
    assert s.host == "https://staging.example.com"
    assert s.users == (UserSpec("Browser", weight=3), UserSpec("Buyer", fixed_count=2))
    assert s.store == StoreSpec(
        products=10,
        deal_stock=0,
        deal_per_user_limit=2,
        deal_opens_at_s=90.0,
        workers=4,
        threads=8,
        users=100,
        faults={"latency_ms": 50, "paths": ["/api/checkout"]},
    )
    assert s.load.stages == (
        Stage(60.0, users=400),
        Stage(10.0, users=1000, spawn_rate=60.0),
        Stage(3600.0, users=0),
    )
    assert (s.load.reference_users, s.load.default_users) == (1000, 50)
    assert s.load.duration_s == 3670.0
    assert s.load.peak_users == 1000
    assert s.slos == (
        SLO("p95_ms", "GET /api/products/[id]", max=500.0, name="Product pages"),
        SLO("rps", min=10.0, name="rps >= 10 on all endpoints"),
        SLO("error_rate", max=0.01, name="error_rate <= 0.01 on all endpoints"),
        SLO("invariants", name="invariants hold"),
    )
    assert s.gate == GateSpec(12.5, ("*", "GET /api/products/[id]"), 0)
    assert "closed, 1h1m10s" in s.summary()


def test_open_scenario(project: Path) -> None:
    s = load(
        project,
        OPEN
        + """
        [[load.stages]]
        duration = "20s"
        arrival_rate = 10
        """,
    )
    assert s.load.model == "open"
    assert s.load.max_users == 20
    assert s.load.arrival == "poisson"
    assert s.load.stages == (
        Stage(10.0, arrival_rate=5.0, ramp=True),
        Stage(20.0, arrival_rate=10.0),
    )
    assert s.load.peak_users == 20
    assert s.load.reference_users == s.load.default_users == 20
    assert s.load.peak_arrival_rate == 10.0


def test_user_class_imported_into_the_locustfile_counts(project: Path) -> None:
    s = load(project, BASE.replace('"Browser"', '"Imported"'))
    assert s.users[0].class_name == "Imported"


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_file_names_file_key_and_expectation(project: Path, case: str) -> None:
    text, key, fragments = BAD_FILES[case]
    path = project / "scenarios" / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, cwd=project)
    error = info.value
    message = str(error)
    assert error.path == str(path.resolve()) or error.path == str(path)
    assert message.startswith(f"{error.path}: ")
    assert error.key == key
    if key is not None:
        assert f"[{key}]" in message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(error, UsageError)
    assert error.exit_code == 2


def test_missing_file(project: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario file not found") as info:
        load_scenario("scenarios/nope.toml", cwd=project)
    assert info.value.path == str(project / "scenarios" / "nope.toml")


def test_directory_is_not_a_scenario(project: Path) -> None:
    with pytest.raises(ScenarioError, match="got a directory"):
        load_scenario(project / "scenarios", cwd=project)


def test_locustfile_with_syntax_error(project: Path) -> None:
    (project / "locustfiles" / "shop.py").write_text("class Browser(:\n")
    with pytest.raises(ScenarioError, match=r"not valid Python \(line 1\)") as info:
        load(project, BASE)
    assert info.value.key == "locustfile"


def test_not_utf8(project: Path) -> None:
    path = project / "scenarios" / "latin.toml"
    path.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path, cwd=project)


def test_locustfile_lookup_order(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    scenario_dir = project / "scenarios"
    other_cwd = tmp_path_factory.mktemp("cwd")
    (other_cwd / "locustfiles").mkdir()
    (other_cwd / "locustfiles" / "cwd_only.py").write_text("class Browser: pass\n")
    # ../locustfiles next to the scenario folder
    found = find_locustfile("shop.py", scenario_dir=scenario_dir, cwd=other_cwd)
    assert found == (project / "locustfiles" / "shop.py").resolve()
    # the scenario's own folder wins
    (scenario_dir / "shop.py").write_text("class Browser: pass\n")
    found = find_locustfile("shop.py", scenario_dir=scenario_dir, cwd=other_cwd)
    assert found == (scenario_dir / "shop.py").resolve()
    # ./locustfiles under the working directory
    found = find_locustfile("cwd_only.py", scenario_dir=scenario_dir, cwd=other_cwd)
    assert found == (other_cwd / "locustfiles" / "cwd_only.py").resolve()
    # the bundled locustfiles last
    found = find_locustfile("shoppers.py", scenario_dir=scenario_dir, cwd=other_cwd)
    assert found == (bundled_dir("locustfiles") / "shoppers.py").resolve()
    assert find_locustfile("none.py", scenario_dir=scenario_dir, cwd=other_cwd) is None


def test_bundled_dir() -> None:
    assert bundled_dir("scenarios").name == "scenarios"
    assert bundled_dir("locustfiles").name == "locustfiles"
    assert (bundled_dir("scenarios") / "smoke.toml").is_file()
    with pytest.raises(ValueError):
        bundled_dir("reports")  # type: ignore[arg-type]


def test_lookup_by_path_relative_and_absolute(project: Path) -> None:
    path = write(project, BASE, "mine")
    assert load_scenario("scenarios/mine.toml", cwd=project).path == path.resolve()
    assert load_scenario(str(path), cwd=Path("/")).path == path.resolve()


def test_local_scenario_shadows_bundled(project: Path) -> None:
    write(project, 'description = "my smoke"\n' + BASE, "smoke")
    s = load_scenario("smoke", cwd=project)
    assert s.description == "my smoke"
    assert s.path == (project / "scenarios" / "smoke.toml").resolve()

    entries = scan_scenarios(cwd=project)
    smoke = [e for e in entries if e.name == "smoke"]
    assert len(smoke) == 1
    assert smoke[0].source == "local"
    assert entries[0].source == "local"
    assert {e.name for e in entries if e.source == "bundled"} >= {"flash-sale", "capacity"}


def test_bundled_scenario_found_by_name(tmp_path: Path) -> None:
    s = load_scenario("flash-sale", cwd=tmp_path)
    assert s.path == (bundled_dir("scenarios") / "flash-sale.toml").resolve()


def test_lookup_by_declared_name(project: Path) -> None:
    write(project, 'name = "renamed"\n' + BASE, "file-stem")
    assert load_scenario("renamed", cwd=project).name == "renamed"


def test_unknown_name_lists_available(project: Path) -> None:
    write(project, BASE, "mine")
    with pytest.raises(ScenarioError) as info:
        load_scenario("flash-sael", cwd=project)
    message = str(info.value)
    assert 'no scenario named "flash-sael"' in message
    assert "flash-sale" in message
    assert "mine" in message


def test_scan_reports_broken_files_and_list_skips_them(project: Path) -> None:
    write(project, BASE, "good")
    write(project, BASE + "oops = 1\n", "broken")
    entries = {e.name: e for e in scan_scenarios(cwd=project)}
    assert entries["good"].ok
    assert not entries["broken"].ok
    assert entries["broken"].scenario is None
    assert entries["broken"].error is not None
    assert 'unknown key "oops"' in entries["broken"].error
    names = [s.name for s in list_scenarios(cwd=project)]
    assert "good" in names
    assert "broken" not in names
    assert names.index("good") < names.index("smoke")


def test_bundled_scenarios_present() -> None:
    assert set(BUNDLED) >= {
        "smoke",
        "browse",
        "checkout",
        "flash-sale",
        "soak",
        "capacity",
        "spike",
    }


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_validates(name: str, tmp_path: Path) -> None:
    s = load_scenario(name, cwd=tmp_path)
    assert s.name == name
    assert s.description
    assert "\n" not in s.description
    assert s.host is None
    assert s.locustfile.parent == bundled_dir("locustfiles").resolve()
    assert scenario_from_dict(json.loads(json.dumps(s.to_dict()))) == s
    header = s.path.read_text().splitlines()[0]
    assert header.startswith(f"# {name} ")


def test_bundled_smoke_is_short_and_loose(tmp_path: Path) -> None:
    s = load_scenario("smoke", cwd=tmp_path)
    assert 10 <= s.load.duration_s <= 30
    assert s.load.peak_users == 20
    # busy shoppers: enough requests in CI for the gate's p95 regression rule
    assert all(u.think_time == (0.2, 1.0) for u in s.users)
    assert s.gate.min_requests == 200
    assert {u.class_name for u in s.users} == {"Browser", "Buyer"}
    assert SLO("error_rate", max=0.01, name="error_rate <= 0.01 on all endpoints") in s.slos
    assert any(slo.metric == "p95_ms" and slo.max == 1000 for slo in s.slos)
    assert s.gate.p95_regression_pct == 25.0


def test_bundled_ab_smoke_carries_its_measured_instance_spread(tmp_path: Path) -> None:
    s = load_scenario("ab-smoke", cwd=tmp_path)
    # two worker processes per store, and the spread 20 A/A runs of that measured (one
    # seed, users reconnecting every 25 requests)
    assert (s.store.workers, s.store.threads) == (2, 4)
    assert s.gate.ab_instance_spread_pct == 1.5
    assert s.gate.p95_regression_pct == 10.0
    # its users reconnect every 25 requests, so the connections' split is drawn afresh
    assert s.gate.ab_reconnect_every == 25
    assert load_scenario("smoke", cwd=tmp_path).gate.ab_reconnect_every == 0  # the default


def test_bundled_flash_sale_shape(tmp_path: Path) -> None:
    s = load_scenario("flash-sale", cwd=tmp_path)
    load_spec = s.load
    assert (load_spec.reference_users, load_spec.default_users) == (100_000, 500)
    assert load_spec.duration_s <= 180
    assert s.store.deal_opens_at_s == 60.0
    weights = {u.class_name: u.weight for u in s.users}
    assert weights == {"FlashSaleBuyer": 5, "Browser": 3, "Buyer": 2}
    # ~40 % of the crowd is there before the opening
    assert target_at(load_spec, 59.9) == (40_000, pytest.approx(40_000 / 60))
    # the surge reaches 100 % within ~10 s of the opening
    users, rate = target_at(load_spec, 60.0) or (0, 0.0)
    assert users == 100_000
    assert (100_000 - 40_000) / rate <= 10.0
    assert {slo.metric for slo in s.slos} >= {"p95_ms", "error_rate", "invariants"}
    laptop = s.scaled(load_spec.default_users)
    assert laptop.load.peak_users == 500
    assert laptop.store == s.store


def test_bundled_capacity_is_a_ladder(tmp_path: Path) -> None:
    stages = load_scenario("capacity", cwd=tmp_path).load.stages
    assert len(stages) >= 8
    users = [stage.users or 0 for stage in stages]
    assert users == sorted(users)
    assert len(set(users)) == len(users)


def test_bundled_spike_is_ten_times_the_baseline(tmp_path: Path) -> None:
    stages = load_scenario("spike", cwd=tmp_path).load.stages
    baseline = stages[0].users or 0
    assert max(stage.users or 0 for stage in stages) == 10 * baseline
    assert any((stage.spawn_rate or 0) >= 100 for stage in stages)


def test_scaled_multiplies_users_and_rates(project: Path) -> None:
    s = load(project, FLASH)
    laptop = s.scaled(500)
    assert laptop.scale == pytest.approx(0.005)
    assert [st.users for st in laptop.load.stages] == [200, 500, 500, 0]
    assert [st.spawn_rate for st in laptop.load.stages] == [None, pytest.approx(30.0), None, None]
    assert laptop.load.peak_users == 500
    assert laptop.load.reference_users == 100_000
    assert laptop.load.duration_s == s.load.duration_s
    assert laptop.store == s.store
    # scaling is relative to the stages as written
    assert laptop.scaled(1000).load.stages == s.scaled(1000).load.stages
    assert laptop.scaled(100_000) == s


def test_scaled_to_reference_is_identical(project: Path) -> None:
    s = load(project, FLASH)
    assert s.scaled(100_000) is s


def test_scaled_keeps_counts_at_least_one(project: Path) -> None:
    tiny = load(project, FLASH).scaled(1)
    assert [st.users for st in tiny.load.stages] == [1, 1, 1, 0]
    assert tiny.load.stages[1].spawn_rate == 1.0


def test_scaled_open_model(project: Path) -> None:
    s = load(project, OPEN + '[[load.stages]]\nduration = "5s"\narrival_rate = 0.5\n')
    half = s.scaled(10)
    assert half.load.max_users == 10
    assert [st.arrival_rate for st in half.load.stages] == [2.5, 0.25]
    assert s.scaled(1).load.max_users == 1


def test_scaled_rejects_bad_sizes(project: Path) -> None:
    s = load(project, BASE)
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError):
            s.scaled(bad)  # type: ignore[arg-type]


def test_with_duration(project: Path) -> None:
    s = load(project, FLASH)
    short = s.with_duration(75)
    assert short.load.duration_s == pytest.approx(75)
    assert [st.duration_s for st in short.load.stages] == pytest.approx([30, 5, 30, 10])
    assert short.load.stages[1].spawn_rate == pytest.approx(12_000)
    assert short.store.deal_opens_at_s == pytest.approx(30)
    assert short.time_scale == pytest.approx(0.5)
    assert s.with_duration(150) is s
    with pytest.raises(ValueError):
        s.with_duration(0)


def test_held_to_holds_the_last_loaded_stage_before_the_ramp_down(project: Path) -> None:
    s = load(project, FLASH)
    long = s.held_to(200)
    assert long.load.duration_s == pytest.approx(200)
    stages = long.load.stages
    # the 50 s missing are held at the last stage with users, before the ramp down to 0
    assert [st.duration_s for st in stages] == pytest.approx([60, 10, 60, 50, 20])
    assert [st.users for st in stages] == [40000, 100000, 100000, 100000, 0]
    assert stages[3].spawn_rate is None
    assert long.store.deal_opens_at_s == s.store.deal_opens_at_s  # nothing else moves
    assert long.scaled(500).load.stages[3].users == 500  # the held stage scales too
    assert s.held_to(150) is s and s.held_to(100) is s
    with pytest.raises(ValueError):
        s.held_to(0)


def test_held_to_keeps_an_open_rate_constant(project: Path) -> None:
    s = load(project, OPEN)
    long = s.held_to(25)
    assert [st.duration_s for st in long.load.stages] == pytest.approx([10, 15])
    held = long.load.stages[1]
    assert held.arrival_rate == pytest.approx(5.0) and not held.ramp  # not a second ramp


def test_to_dict_round_trip(project: Path) -> None:
    s = load(
        project,
        FLASH + '[store.faults]\nerror_rate = 0.1\n[[slo]]\nmetric = "p99_ms"\nmax = 5\n',
    )
    for variant in (s, s.scaled(500), s.scaled(500).with_duration(30)):
        d = variant.to_dict()
        text = json.dumps(d)
        back = scenario_from_dict(json.loads(text))
        assert back == variant
        assert back.to_dict() == d
    d = s.to_dict()
    assert d["store"]["faults"] == {"error_rate": 0.1}
    assert d["load"]["stages"][1] == {
        "duration_s": 10.0,
        "users": 100000,
        "spawn_rate": 6000.0,
        "arrival_rate": None,
        "ramp": False,
    }
    assert d["gate"]["endpoints"] == ["*"]


def test_scenario_from_dict_rejects_garbage() -> None:
    with pytest.raises(ScenarioError, match="missing required field `description`"):
        scenario_from_dict({"name": "x", "path": "/x.toml"})
    good = load_scenario("smoke").to_dict()
    bad = {**good, "load": {**good["load"], "stages": [{"duration_s": "soon"}]}}
    with pytest.raises(ScenarioError, match=r"\[load.stages\[0\].duration_s\] .*Expected `float`"):
        scenario_from_dict(bad)
    with pytest.raises(ScenarioError, match="Expected `object`"):
        scenario_from_dict(["not", "a", "scenario"])


def test_importing_scenario_modules_does_not_import_locust() -> None:
    code = (
        "import sys\n"
        "import dhakacart_bench.scenario.lookup, dhakacart_bench.scenario.model\n"
        "import dhakacart_bench.measure.shapes, dhakacart_bench.cli.list\n"
        "import dhakacart_bench.cli.validate\n"
        "heavy = [m for m in ('locust', 'gevent', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_scan_from_the_repository_root_lists_bundled_once() -> None:
    root = bundled_dir("scenarios").parent
    entries = scan_scenarios(cwd=root)
    names = [e.name for e in entries]
    assert len(names) == len(set(names))
    assert {e.source for e in entries} == {"bundled"}


def test_scenarios_are_hashable_even_with_faults(project: Path) -> None:
    s = load(project, BASE + "[store.faults]\nlatency_ms = 5\n")
    assert hash(s) == hash(scenario_from_dict(s.to_dict()))


def test_think_time_overrides_the_class_wait_and_round_trips(tmp_path: Path) -> None:
    from dhakacart_bench.scenario.lookup import load_scenario
    from dhakacart_bench.scenario.model import UserSpec, scenario_from_dict

    scenario = load_scenario("smoke")
    assert scenario.users[0] == UserSpec("Browser", 3, None, (0.2, 1.0))
    assert scenario_from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario


@pytest.mark.parametrize(
    ("value", "message"),
    [('"1s"', "two durations"), ('["2s", "1s"]', "min <= max"), ('["soon", "1s"]', "duration")],
)
def test_bad_think_time_names_the_key(tmp_path: Path, value: str, message: str) -> None:
    from dhakacart_bench.errors import ScenarioError
    from dhakacart_bench.scenario.lookup import load_scenario

    (tmp_path / "u.py").write_text("from locust import HttpUser\nclass A(HttpUser):\n    pass\n")
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\nlocustfile = "u.py"\n\n[[users]]\nclass = "A"\n'
        f"think_time = {value}\n\n[load]\n\n[[load.stages]]\nduration = 5\nusers = 1\n"
    )
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "think_time" in str(info.value) and "bad.toml" in str(info.value)
