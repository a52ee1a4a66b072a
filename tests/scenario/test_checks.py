"""A scenario's [probe] and [[events]] tables, and --deploy-cmd."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.measure.run import build_sidecars
from dhakacart_bench.scenario.lookup import load_scenario, scan_scenarios
from dhakacart_bench.scenario.model import (
    EventSpec,
    ProbeSpec,
    scenario_from_dict,
    with_deploy_command,
)
from dhakacart_bench.scenario.parse import load_scenario_file

REPO = Path(__file__).resolve().parents[2]


BASE = """\
locustfile = "shoppers.py"

[[users]]
class = "Browser"

[[load.stages]]
duration = "60s"
users = 10
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "rel.toml"
    path.write_text(BASE + textwrap.dedent(extra), encoding="utf-8")
    return path


GOOD = """
[probe]
interval = "0.5s"
paths = ["/health", "/api/products/1"]
timeout = "2s"
slo_pct = 99.9

[[events]]
at = "20s"
action = "deploy"
strategy = "restart"

[[events]]
at = "30s"
action = "command"
command = "echo deployed"
timeout = "10s"

[[events]]
at = "35s"
action = "kill-worker"

[[events]]
name = "slow"
at = "40s"
action = "faults"
faults = { latency_ms = { "*" = 200 } }
for = "5s"

[[events]]
at = "50s"
action = "clear-faults"

[[slo]]
metric = "availability_pct"
min = 99.9

[[slo]]
metric = "availability_pct"
endpoint = "/health"
min = 99

[[slo]]
metric = "deploy_failed_requests"
max = 0

[[slo]]
metric = "recovery_s"
max = 10

[[slo]]
metric = "longest_gap_s"
max = 2
"""


def test_good_tables_validate_and_round_trip(tmp_path: Path) -> None:
    s = load_scenario_file(write(tmp_path, GOOD), cwd=REPO)
    assert s.probe == ProbeSpec(0.5, ("/health", "/api/products/1"), 2.0, 99.9)
    assert [e.action for e in s.events] == [
        "deploy",
        "command",
        "kill-worker",
        "faults",
        "clear-faults",
    ]
    assert s.events[0].strategy == "restart"
    assert s.events[1].timeout_s == 10.0
    assert s.events[3].faults == {"latency_ms": {"*": 200}}
    assert s.events[3].for_s == 5.0
    assert s.events[3].label == "slow"
    assert s.events[2].label == "kill-worker at 35s"
    assert s.slos[0].name == "availability_pct >= 99.9"
    assert scenario_from_dict(s.to_dict()) == s
    # scaling the run's length moves every event (and a fault's length) proportionally
    short = s.with_duration(30)
    assert [e.at_s for e in short.events] == [10.0, 15.0, 17.5, 20.0, 25.0]
    assert short.events[3].for_s == 2.5
    assert short.probe == s.probe
    assert scenario_from_dict(short.to_dict()) == short
    names = [sidecar.name for sidecar in build_sidecars(s)]
    assert names == ["probe", "events"]


def test_defaults_and_absence(tmp_path: Path) -> None:
    s = load_scenario_file(write(tmp_path, "[probe]\n"), cwd=REPO)
    assert s.probe == ProbeSpec()
    plain = load_scenario_file(write(tmp_path, ""), cwd=REPO)
    assert plain.probe is None and plain.events == ()
    assert build_sidecars(plain) == []
    deploy = load_scenario_file(
        write(tmp_path, '[[events]]\nat = 5\naction = "deploy"\n'), cwd=REPO
    )
    assert deploy.events[0].strategy == "rolling"
    # an old run.json without the new keys still loads
    d = plain.to_dict()
    del d["probe"], d["events"]
    assert scenario_from_dict(d) == plain


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[probe]\nintervall = "1s"\n', "probe.intervall", 'did you mean "interval"'),
        ("[probe]\npaths = []\n", "probe.paths", "non-empty array"),
        ('[probe]\npaths = ["health"]\n', "probe.paths", 'starting with "/"'),
        ('[probe]\npaths = ["/a", "/a"]\n', "probe.paths", "each path once"),
        ("[probe]\ninterval = true\n", "probe.interval", "boolean"),
        ('[probe]\ntimeout = "0s"\n', "probe.timeout", "longer than zero"),
        ("[probe]\nslo_pct = 101\n", "probe.slo_pct", "from 0 to 100"),
        ('[[events]]\nat = "10s"\naction = "reboot"\n', "events[0].action", "one of"),
        ('[[events]]\naction = "deploy"\n', "events[0].at", "missing required key"),
        ('[[events]]\nat = "61s"\naction = "deploy"\n', "events[0].at", "within the run"),
        (
            '[[events]]\nat = "1s"\naction = "deploy"\nstrategy = "blue"\n',
            "events[0].strategy",
            '"rolling" or "restart"',
        ),
        (
            '[[events]]\nat = "1s"\naction = "kill-worker"\nstrategy = "rolling"\n',
            "events[0].strategy",
            "does not take",
        ),
        (
            '[[events]]\nat = "1s"\naction = "command"\n',
            "events[0].command",
            "missing required key",
        ),
        (
            '[[events]]\nat = "1s"\naction = "command"\ncommand = " "\n',
            "events[0].command",
            "shell command",
        ),
        ('[[events]]\nat = "1s"\naction = "faults"\n', "events[0].faults", "non-empty table"),
        (
            '[[events]]\nat = "50s"\naction = "faults"\nfaults = {error_rate = 0.5}\nfor = "20s"\n',
            "events[0].for",
            "within the run",
        ),
        ('[[events]]\nat = "1s"\naction = "deploy"\nwhen = 3\n', "events[0].when", "unknown key"),
        (
            'host = "http://127.0.0.1:9"\n[[events]]\nat = "1s"\naction = "kill-worker"\n',
            "events[0].action",
            "needs the bundled store",
        ),
        (
            '[[slo]]\nmetric = "availability_pct"\nmin = 99\n',
            "slo[0].metric",
            "add a [probe] table",
        ),
        ('[probe]\n[[slo]]\nmetric = "availability_pct"\nmax = 99\n', "slo[0].max", "use min"),
        (
            '[probe]\n[[slo]]\nmetric = "availability_pct"\nmin = 101\n',
            "slo[0].min",
            "from 0 to 100",
        ),
        (
            '[probe]\n[[slo]]\nmetric = "availability_pct"\nendpoint = "/x"\nmin = 99\n',
            "slo[0].endpoint",
            "probe paths",
        ),
        ('[[slo]]\nmetric = "recovery_s"\nmin = 1\n', "slo[0].min", "use max"),
        ('[[slo]]\nmetric = "deploy_failed_requests"\n', "slo[0].max", "number of requests"),
        (
            '[[slo]]\nmetric = "recovery_s"\nendpoint = "*"\nmax = 3\n',
            "slo[0].endpoint",
            "no endpoint",
        ),
    ],
)
def test_bad_tables_name_file_key_and_expectation(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    # host must come before the tables in TOML: put a top-level host line first
    if extra.startswith("host"):
        head, _, rest = extra.partition("\n")
        path = tmp_path / "rel.toml"
        path.write_text(head + "\n" + BASE + rest, encoding="utf-8")
    else:
        path = write(tmp_path, extra)
    with pytest.raises(ScenarioError) as info:
        load_scenario_file(path, cwd=REPO)
    text = str(info.value)
    assert str(path) in text
    assert f"[{key}]" in text
    assert words in text


def test_with_deploy_command_adds_a_command_event() -> None:
    s = load_scenario("smoke", cwd=REPO)
    out = with_deploy_command(s, "./deploy.sh", 5.0)
    assert out.events[-1] == EventSpec(
        at_s=5.0, action="command", name="deploy command", command="./deploy.sh", timeout_s=120.0
    )
    assert scenario_from_dict(out.to_dict()) == out
    with pytest.raises(ScenarioError, match="within the run"):
        with_deploy_command(s, "./deploy.sh", s.load.duration_s + 1)
    with pytest.raises(ScenarioError, match="empty"):
        with_deploy_command(s, "  ", 1)


def test_bundled_scenarios_still_validate() -> None:
    entries = scan_scenarios(cwd=REPO)
    assert all(e.ok for e in entries), [e.error for e in entries if not e.ok]
    names = {e.name for e in entries}
    assert {"deploy-check", "faults", "flash-sale", "smoke"} <= names
    deploy = load_scenario("deploy-check", cwd=REPO)
    assert deploy.load.duration_s <= 90 and deploy.probe is not None
    assert deploy.events[0].action == "deploy" and deploy.events[0].strategy == "rolling"
    faults = load_scenario("faults", cwd=REPO)
    assert faults.load.duration_s <= 90
    assert {e.action for e in faults.events} == {"kill-worker", "faults"}


def test_a_candidate_table_is_the_bundled_candidates_changes(tmp_path: Path) -> None:
    from dhakacart_bench.cli.ab import candidate_changes
    from dhakacart_bench.scenario.model import CandidateSpec

    extra = '[candidate]\nstore_workers = 2\n[candidate.faults]\nlatency_ms = {"*" = 3}\n'
    s = load_scenario_file(write(tmp_path, extra), cwd=REPO)
    assert s.candidate == CandidateSpec(faults={"latency_ms": {"*": 3}}, store_workers=2)
    assert scenario_from_dict(s.to_dict()) == s  # kept in run.json
    assert load_scenario_file(write(tmp_path, ""), cwd=REPO).candidate is None
    # the flags override the file; what they leave out comes from it
    assert candidate_changes({}, s.candidate) == ({"latency_ms": {"*": 3}}, 2)
    flags = {"candidate_faults": '{"error_rate": 0.1}', "candidate_store_workers": None}
    assert candidate_changes(flags, s.candidate) == ({"error_rate": 0.1}, 2)
    assert candidate_changes({"candidate_store_workers": 4}, None) == (None, 4)


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[candidate]\nfaults = 3\n", "candidate.faults", "expected a table"),
        ("[candidate]\nstore_workers = 0\n", "candidate.store_workers", "positive integer"),
        ("[candidate]\nthreads = 4\n", "candidate", "threads"),
    ],
)
def test_a_bad_candidate_table_names_the_key(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    path = write(tmp_path, extra)
    with pytest.raises(ScenarioError) as info:
        load_scenario_file(path, cwd=REPO)
    assert f"[{key}]" in str(info.value) or key in str(info.value), str(info.value)
    assert words in str(info.value)
