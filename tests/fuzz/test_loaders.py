"""Every loader, fuzzed (bounded examples): a clean BenchError or a valid result.

The longer run is benchmarks/fuzz_loaders.py (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_CSV,
    ERRORS_JSON,
    HISTOGRAMS_JSON,
    RUN_JSON,
    SUMMARY_JSON,
    TIMESERIES_CSV,
    WINDOWS_JSONL,
)
from tests.fuzz import loaders

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples every run: the suite stays deterministic
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JSON_FILES = (RUN_JSON, SUMMARY_JSON, ERRORS_JSON, HISTOGRAMS_JSON)
CSV_FILES = (TIMESERIES_CSV, ENDPOINT_TIMESERIES_CSV)


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-fuzz-case-"))


@FUZZ
@given(content=loaders.RAW_BYTES)
def test_scenario_bytes(content: bytes) -> None:
    assert loaders.check_scenario(_folder(), content) in ("ok", "error")


@FUZZ
@given(data=st.data())
def test_scenario_shapes(data: st.DataObject) -> None:
    doc = loaders.mutate(loaders.smoke_document(), data, loaders.TOML_VALUES)
    if not isinstance(doc, dict):
        doc = {"name": doc}
    text = loaders.toml_text(doc).encode("utf-8")
    assert loaders.check_scenario(_folder(), text) in ("ok", "error")


@pytest.mark.parametrize("name", [*JSON_FILES, WINDOWS_JSONL, *CSV_FILES])
@FUZZ
@given(content=loaders.RAW_BYTES)
def test_run_folder_file_bytes(name: str, content: bytes) -> None:
    assert loaders.check_run_folder(_folder(), name, content) in ("ok", "error")


@pytest.mark.parametrize("name", JSON_FILES)
@FUZZ
@given(data=st.data())
def test_run_folder_json_shapes(name: str, data: st.DataObject) -> None:
    doc = loaders.mutate(loaders.template_file(name), data, loaders.JSON_VALUES)
    content = json.dumps(doc).encode("utf-8")
    assert loaders.check_run_folder(_folder(), name, content) in ("ok", "error")


@FUZZ
@given(data=st.data())
def test_windows_shapes(data: st.DataObject) -> None:
    lines = loaders.template_file(WINDOWS_JSONL)
    line = data.draw(st.integers(0, len(lines) - 1))
    lines[line] = loaders.mutate(lines[line], data, loaders.JSON_VALUES)
    content = "".join(json.dumps(x) + "\n" for x in lines).encode("utf-8")
    assert loaders.check_run_folder(_folder(), WINDOWS_JSONL, content) in ("ok", "error")


@FUZZ
@given(content=loaders.RAW_BYTES)
def test_baseline_bytes(content: bytes) -> None:
    assert loaders.check_baseline(_folder(), content) in ("ok", "error")


@FUZZ
@given(data=st.data())
def test_baseline_shapes(data: st.DataObject) -> None:
    doc = loaders.mutate(loaders.template_baseline(), data, loaders.JSON_VALUES)
    content = json.dumps(doc).encode("utf-8")
    assert loaders.check_baseline(_folder(), content) in ("ok", "error")


@FUZZ
@given(value=st.text(max_size=40))
def test_host_and_duration_flags(value: str) -> None:
    assert loaders.check_host_flag(value) in ("ok", "error")
    assert loaders.check_duration_flag(value) in ("ok", "error")


def test_the_mutations_reach_both_outcomes() -> None:
    """The fuzzer is not vacuous: valid documents load, broken ones are refused."""
    folder = _folder()
    smoke = loaders.toml_text(loaders.smoke_document()).encode()
    assert loaders.check_scenario(folder, smoke) == "ok"
    assert loaders.check_scenario(folder, b"\xff") == "error"
    run = json.dumps(loaders.template_file(RUN_JSON)).encode()
    assert loaders.check_run_folder(folder, RUN_JSON, run) == "ok"
    assert loaders.check_run_folder(folder, RUN_JSON, b"[]") == "error"
    base = json.dumps(loaders.template_baseline()).encode()
    assert loaders.check_baseline(folder, base) == "ok"
    assert loaders.check_baseline(folder, b"{}") == "error"


@pytest.mark.parametrize("name", CSV_FILES)
@FUZZ
@given(data=st.data())
def test_run_folder_csv_cells(name: str, data: st.DataObject) -> None:
    content = loaders.csv_with_one_cell(name, data)
    assert loaders.check_run_folder(_folder(), name, content) in ("ok", "error")
