"""One rule for bad input: exit 2 with a message naming the file (and key, line or the
locustfile's file:line), never a traceback — each defect of issue 11 as a test."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from dhakacart_bench.cli import main
from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.report.terminal import progress_line
from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_CSV,
    HISTOGRAMS_JSON,
    RUN_JSON,
    TIMESERIES_CSV,
    WINDOWS_JSONL,
)
from tests.synthetic import MakeRun

NOT_UTF8 = b"\xff\xfe\x00x"


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    command: click.Group = main
    return CliRunner().invoke(
        command, [str(a) for a in args], env={"GITHUB_STEP_SUMMARY": "", **(env or {})}
    )


def assert_usage_error(result: Result, *words: str) -> None:
    """Exit 2, a one-line message naming what was wrong, and no traceback."""
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


@pytest.fixture
def run_dir(make_run: MakeRun) -> Path:
    return make_run(seconds=12)


@pytest.mark.parametrize("command", ["report", "gate"])
def test_a_run_json_that_is_not_utf8_is_exit_2_naming_the_file(run_dir: Path, command: str) -> None:
    (run_dir / RUN_JSON).write_bytes(NOT_UTF8)
    assert_usage_error(
        invoke(command, run_dir), f"{run_dir / RUN_JSON}: not UTF-8", "byte 0xff at offset 0"
    )


def test_a_wrong_typed_run_json_field_names_the_key(run_dir: Path) -> None:
    meta = json.loads((run_dir / RUN_JSON).read_text())
    meta["machine"] = "busy"
    (run_dir / RUN_JSON).write_text(json.dumps(meta))
    assert_usage_error(invoke("report", run_dir), "run.json: machine: Expected `object`")


def _break_one_histogram(run_dir: Path) -> str:
    data = json.loads((run_dir / HISTOGRAMS_JSON).read_text())
    name = sorted(data["endpoints"])[0]
    data["endpoints"][name] = "!!!notbase64"
    (run_dir / HISTOGRAMS_JSON).write_text(json.dumps(data))
    return name


def test_a_bad_histogram_is_skipped_by_the_report_and_named(run_dir: Path) -> None:
    name = _break_one_histogram(run_dir)
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    html = (run_dir / "report.html").read_text()
    assert "Data incomplete" in html
    assert f"endpoints[&#39;{name}&#39;]: not a valid encoded histogram" in html
    assert "The data are incomplete" in html  # the verdict says so too


def test_the_gate_refuses_a_bad_histogram_before_deciding(run_dir: Path) -> None:
    _break_one_histogram(run_dir)
    result = invoke("gate", run_dir, "--no-report")
    assert_usage_error(result, "measured data are incomplete", "not a valid encoded histogram")
    assert "PASS" not in result.output
    assert not (run_dir / "gate.json").exists()


def test_a_corrupt_window_is_skipped_the_rest_is_reported(run_dir: Path) -> None:
    lines = (run_dir / WINDOWS_JSONL).read_text().splitlines()
    lines[3] = '{"second": 3, "endpoints": {"*": "bad"'
    (run_dir / WINDOWS_JSONL).write_text("\n".join(lines) + "\n")
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    html = (run_dir / "report.html").read_text()
    assert "windows.jsonl: 1 bad line(s) skipped: line 4" in html
    assert "INCONCLUSIVE" in html  # a PASS on incomplete data is not a PASS


@pytest.mark.parametrize("damage", ["missing histograms", "empty windows"])
def test_gate_on_an_incomplete_folder_decides_once(run_dir: Path, damage: str) -> None:
    if damage == "missing histograms":
        (run_dir / HISTOGRAMS_JSON).unlink()
    else:
        (run_dir / WINDOWS_JSONL).write_text("")
    result = invoke("gate", run_dir)
    assert_usage_error(result, "incomplete")
    assert "PASS" not in result.output
    assert not (run_dir / "gate.json").exists()


def _damage_table(path: Path, damage: str) -> str:
    """Damage one CSV table; return the words its problem must say."""
    lines = path.read_text().splitlines()
    if damage == "missing":
        path.unlink()
        return "missing from the run folder; rebuilt from windows.jsonl"
    if damage == "not utf-8":
        path.write_bytes(NOT_UTF8)
        return "not UTF-8 text (offset 0); rebuilt from windows.jsonl"
    if damage == "no header":
        path.write_text("a,b\n1,2\n")
        return "not a table of this run"
    if damage == "bad value":
        cells = lines[4].split(",")
        cells[-3] = "12ms"  # a latency column
        lines[4] = ",".join(cells)
    else:  # an extra field: a line the CSV parser cannot place
        lines[4] += ",1,2,3"
    path.write_text("\n".join(lines) + "\n")
    return "1 bad line(s) blanked or skipped (line 5)"


@pytest.mark.parametrize("table", [TIMESERIES_CSV, ENDPOINT_TIMESERIES_CSV])
@pytest.mark.parametrize(
    "damage", ["missing", "not utf-8", "no header", "bad value", "extra field"]
)
def test_a_damaged_time_series_table_is_named_and_the_report_renders(
    run_dir: Path, table: str, damage: str
) -> None:
    words = _damage_table(run_dir / table, damage)
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    html = (run_dir / "report.html").read_text()
    assert "Data incomplete" in html
    assert f"{table}: {words}" in html
    assert "<img" in html or "<svg" in html  # the charts are still drawn
    gate = invoke("gate", run_dir, "--no-report")
    assert_usage_error(gate, "incomplete", table)
    assert not (run_dir / "gate.json").exists()


def test_a_baseline_that_is_not_utf8_is_exit_2(run_dir: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "b.json"
    baseline.write_bytes(NOT_UTF8)
    assert_usage_error(invoke("gate", run_dir, "--baseline", baseline), f"{baseline}: not UTF-8")


def test_run_with_a_bad_baseline_stops_before_any_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("b.json").write_bytes(NOT_UTF8)
    result = invoke("run", "smoke", "--baseline", "b.json", "--gate", "-q")
    assert_usage_error(result, "b.json: not UTF-8")
    assert "Running smoke" not in result.output
    assert not Path("reports").exists()


@pytest.mark.parametrize("host", ["ftp://x", "localhost:8000", "http://", "http://a b"])
def test_host_flag_is_checked_like_the_scenario_key(host: str) -> None:
    result = invoke("run", "smoke", "--host", host, "-q")
    assert_usage_error(result, "--host", "expected an http(s) URL")


@pytest.mark.parametrize("workers", ["many", "-2"])
def test_workers_takes_a_count_or_auto(workers: str) -> None:
    result = invoke("run", "smoke", "--workers", workers, "-q")
    assert_usage_error(result, "--workers", "worker processes")
    env = invoke("run", "smoke", "-q", env={"BENCH_WORKERS": workers})
    assert_usage_error(env, "worker processes")


USER = "from locust import HttpUser\n\n\nclass Browser(HttpUser):\n    pass\n"
LOCUSTFILE_BROKEN = {
    "missing module": ("import no_such_module\n" + USER, "lf.py:1: ModuleNotFoundError"),
    "raises": (USER + "\n\nraise RuntimeError('boom at import')\n", "lf.py:8: RuntimeError: boom"),
}


@pytest.fixture(params=sorted(LOCUSTFILE_BROKEN))
def broken_scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    body, expected = LOCUSTFILE_BROKEN[request.param]
    (tmp_path / "lf.py").write_text(body)
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "broken"\ndescription = "x"\nlocustfile = "lf.py"\n'
        '[[users]]\nclass = "Browser"\n[load]\nmodel = "closed"\n'
        '[[load.stages]]\nduration = "2s"\nusers = 1\n'
    )
    yield scenario, expected


def test_validate_catches_a_locustfile_that_fails_to_import(
    broken_scenario: tuple[Path, str],
) -> None:
    scenario, expected = broken_scenario
    assert_usage_error(invoke("validate", scenario), "invalid:", expected)


def test_run_with_a_locustfile_that_fails_to_import_is_exit_2(
    broken_scenario: tuple[Path, str], tiny_target: str, tmp_path: Path
) -> None:
    scenario, expected = broken_scenario
    result = invoke("run", scenario, "--host", tiny_target, "-q", "--reports-dir", tmp_path / "r")
    assert_usage_error(result, "[locustfile] locustfile failed to import", expected)


def test_the_locustfile_loader_raises_a_scenario_error_with_file_and_line(
    broken_scenario: tuple[Path, str],
) -> None:
    from dhakacart_bench.measure.engines.locustfile import load_user_classes
    from dhakacart_bench.scenario.parse import load_scenario_file

    scenario, expected = broken_scenario
    with pytest.raises(ScenarioError, match=expected.replace(".", r"\.")):
        load_user_classes(load_scenario_file(scenario))


def test_debug_shows_the_traceback_under_the_message(run_dir: Path) -> None:
    (run_dir / RUN_JSON).write_bytes(NOT_UTF8)
    quiet = invoke("report", run_dir)
    loud = invoke("report", run_dir, env={"BENCH_DEBUG": "1"})
    flag = invoke("--debug", "report", run_dir)
    assert "Traceback" not in quiet.output
    for result in (loud, flag):
        assert result.exit_code == 2
        assert "Traceback (most recent call last)" in result.output
        assert "RunFolderError" in result.output


def test_run_folder_files_get_the_umask_mode(make_run: MakeRun, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = make_run(seconds=5, parent=tmp_path / "modes")
        assert invoke("report", folder).exit_code == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}
    assert "report.html" in modes and RUN_JSON in modes
    assert set(modes.values()) == {0o644}, modes


@pytest.mark.parametrize(
    ("p95_ms", "cell"), [(30_100.0, "p95     30.1s"), (480.0, "p95    480 ms"), (None, "p95 ")]
)
def test_progress_line_gives_p95_one_unit(p95_ms: float | None, cell: str) -> None:
    line = progress_line(
        elapsed_s=12, planned_s=30, users=5, rps=10.0, p95_ms=p95_ms, error_pct=0.0, requests=99
    )
    assert cell in line
    assert "s ms" not in line


def test_bad_base64_is_a_value_error_from_the_decoder() -> None:
    from dhakacart_bench.stats.hdr import BadHistogram, decode_histogram

    for junk in ("!!!", "", base64.b64encode(b"\x1c\x84\x93\x14" + b"\0" * 40).decode()):
        with pytest.raises(BadHistogram):
            decode_histogram(junk)


@pytest.mark.parametrize("command", [["run", "smoke"], ["master", "smoke"], ["worker"]])
def test_every_host_flag_is_checked_the_same_way(command: list[str]) -> None:
    extra = ["--master", "127.0.0.1:1"] if command == ["worker"] else []
    result = invoke(*command, *extra, "--host", "ftp://x")
    assert_usage_error(result, "--host", "expected an http(s) URL")


def test_a_path_field_that_is_not_a_string_names_the_key(run_dir: Path) -> None:
    """Found by benchmarks/fuzz_loaders.py: ``scenario.path: null`` was a NotImplementedError."""
    meta = json.loads((run_dir / RUN_JSON).read_text())
    meta["scenario"]["path"] = None
    (run_dir / RUN_JSON).write_text(json.dumps(meta))
    assert_usage_error(invoke("report", run_dir), "run.json: scenario.path", "path string")


def test_a_scenarios_candidate_table_needs_a_bundled_candidate(tmp_path: Path) -> None:
    """[candidate] changes a bundled store: with a --host candidate it is bad usage
    (exit 2, before any load), as --candidate-faults is."""
    import shutil

    text = (Path(__file__).resolve().parents[2] / "scenarios" / "ab-smoke.toml").read_text()
    shutil.copy(Path(__file__).resolve().parents[2] / "locustfiles" / "shoppers.py", tmp_path)
    scenario = tmp_path / "ab.toml"
    scenario.write_text(text + '\n[candidate.faults]\nlatency_ms = {"*" = 2}\n')
    result = invoke(
        "run", scenario, "--host", "http://127.0.0.1:9", "--against", "bundled", "--no-report"
    )
    assert_usage_error(result, "[candidate]", "need a bundled candidate")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--ab-warmup", "10s", "--ab-warmup (10s) leaves nothing to judge in a 10s A/B run"),
        ("--max-duration", "30s", "--max-duration (30s) is longer than --duration (10s)"),
    ],
)
def test_an_ab_warm_up_or_budget_beyond_the_duration_is_bad_usage(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = invoke(
        "run", "ab-smoke", "--against", "bundled", "--duration", "10s", option, value,
        "--reports-dir", tmp_path, "-q",
    )  # fmt: skip
    assert_usage_error(result, message)
    assert not any(tmp_path.iterdir())  # refused before any store started or folder written


def capture_run_ab(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Make ``bench run --against`` stop where it would start the A/B run: the dict gets
    the sized scenario (``"scenario"``) and the ABConfig (``"ab"``) it was given."""
    from dhakacart_bench.measure import ab as measure_ab
    from dhakacart_bench.measure.config import sized_scenario

    seen: dict[str, object] = {}

    def fake_run_ab(config: object, ab: object, **_: object) -> None:
        seen["scenario"], seen["ab"] = sized_scenario(config), ab  # type: ignore[arg-type]
        raise click.exceptions.Exit(0)

    monkeypatch.setattr(measure_ab, "run_ab", fake_run_ab)
    return seen


def test_an_ab_budget_longer_than_the_scenario_holds_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The not-significant line advises a longer --max-duration: beyond the scenario's
    60 s the load is held at its 200 arrivals/s, so the budget is really spent measuring."""
    seen = capture_run_ab(monkeypatch)
    result = invoke(
        "run", "ab-smoke", "--against", "bundled", "--gate", "--max-duration", "150s",
        "--reports-dir", tmp_path, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    load = seen["scenario"].load  # type: ignore[attr-defined]
    assert load.duration_s == pytest.approx(150)
    assert [(st.duration_s, st.arrival_rate, st.ramp) for st in load.stages] == [
        (3, 200, True),
        (57, 200, False),
        (90, 200, False),
    ]
    assert seen["ab"].max_duration_s == pytest.approx(150)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, 25),  # ab-smoke's [gate] ab_reconnect_every
        (("--ab-reconnect-every", "0"), {}, 0),  # the command line wins
        ((), {"BENCH_AB_RECONNECT_EVERY": "7"}, 7),  # so does the environment
    ],
)
def test_the_ab_reconnect_setting_comes_from_the_scenario_unless_given(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    expected: int,
) -> None:
    seen = capture_run_ab(monkeypatch)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = invoke(
        "run", "ab-smoke", "--against", "bundled", "--gate", *args,
        "--reports-dir", tmp_path, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen["ab"].reconnect_every == expected  # type: ignore[attr-defined]
    assert seen["ab"].plan["reconnect_every"] == expected  # type: ignore[attr-defined]


def test_a_negative_ab_reconnect_is_refused(tmp_path: Path) -> None:
    result = invoke(
        "run", "ab-smoke", "--against", "bundled", "--ab-reconnect-every", "-1",
        "--reports-dir", tmp_path, "-q",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--ab-reconnect-every" in result.output and "Traceback" not in result.output
