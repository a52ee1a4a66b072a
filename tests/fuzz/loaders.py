"""Fuzzing every loader: arbitrary bytes, and valid documents with one value replaced by
an arbitrary JSON / TOML value, must give a clean BenchError (a UsageError: exit 2) or a
valid result — never another exception.

Shared by the suite (tests/fuzz/test_loaders.py, bounded examples) and the longer
benchmark (benchmarks/fuzz_loaders.py). Each ``check_*`` function loads one input and
returns ``"ok"`` or ``"error"``; anything else raised is a bug the fuzzer reports.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from dhakacart_bench.errors import UsageError

REPO = Path(__file__).resolve().parents[2]

#: JSON values: what a hand-edited or truncated file may hold instead of the real value
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: TOML values (TOML has no null)
TOML_VALUES = st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
RAW_BYTES = st.binary(max_size=300)


# ------------------------------------------------------------------ mutations


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in ``doc`` (dict keys and list indices)."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, (*prefix, index))
    return out


def mutate(doc: Any, data: st.DataObject, values: st.SearchStrategy[Any]) -> Any:
    """``doc`` (a copy) with the value at one drawn path replaced, or its key dropped."""
    doc = json.loads(json.dumps(doc))
    paths = _paths(doc)[1:]
    if not paths:
        return data.draw(values)
    path = data.draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans(), label="drop the key"):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(values)
    return doc


def toml_text(doc: dict[str, Any]) -> str:
    """``doc`` as TOML: ``key = value`` lines, nested tables inline."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(type(v))

    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in doc.items())


# ------------------------------------------------------------------ the loaders


def _outcome(load: Callable[[], Any]) -> str:
    try:
        load()
    except UsageError:
        return "error"
    return "ok"


@cache
def smoke_document() -> dict[str, Any]:
    return tomllib.loads((REPO / "scenarios" / "smoke.toml").read_text(encoding="utf-8"))


def check_scenario(folder: Path, content: bytes) -> str:
    """A scenario file holding ``content``, beside a real locustfile."""
    from dhakacart_bench.scenario.parse import load_scenario_file

    shutil.copy(REPO / "locustfiles" / "shoppers.py", folder / "shoppers.py")
    path = folder / "fuzz.toml"
    path.write_bytes(content)
    return _outcome(lambda: load_scenario_file(path))


@cache
def _template_run() -> Path:
    """One small synthetic run folder, written once per process, copied per example."""
    from tests.synthetic import write_synthetic_run

    parent = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    return write_synthetic_run(parent, seconds=6, endpoints={"GET /a": 5.0, "GET /b": 9.0})


def csv_with_one_cell(name: str, data: st.DataObject) -> bytes:
    """The template's CSV table ``name`` with one drawn cell replaced by arbitrary text
    (or one line cut short)."""
    lines = (_template_run() / name).read_text(encoding="utf-8").splitlines()
    row = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
    cells = lines[row].split(",")
    if data.draw(st.booleans(), label="cut the line"):
        cells = cells[: data.draw(st.integers(min_value=0, max_value=len(cells)), label="keep")]
    else:
        column = data.draw(st.integers(min_value=0, max_value=len(cells) - 1), label="column")
        cells[column] = data.draw(st.text(max_size=8), label="cell")
    lines[row] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def template_file(name: str) -> Any:
    """The template run folder's ``name``, parsed (JSON) or as lines (windows.jsonl)."""
    text = (_template_run() / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def check_run_folder(folder: Path, name: str, content: bytes) -> str:
    """The template run folder with ``name`` replaced by ``content``: load it, read every
    part of it a report reads, and judge it."""
    from dhakacart_bench.analysis.verdict import evaluate_verdict
    from dhakacart_bench.runfolder.reader import load_run

    run_dir = folder / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    shutil.copytree(_template_run(), run_dir)
    (run_dir / name).write_bytes(content)

    def load() -> None:
        run = load_run(run_dir)
        run.problems()
        list(run.iter_windows())
        run.timeseries()
        run.endpoint_timeseries()
        for endpoint in ["*", *run.endpoints()]:
            with contextlib.suppress(KeyError):  # an endpoint in summary, not in histograms
                run.histogram(endpoint)
        evaluate_verdict(run)

    return _outcome(load)


@cache
def _template_baseline() -> dict[str, Any]:
    from dhakacart_bench.gate.baseline import save_baseline
    from dhakacart_bench.runfolder.reader import load_run

    target = _template_run().parent / "baseline.json"
    save_baseline([load_run(_template_run())], target, force=True)
    return json.loads(target.read_text(encoding="utf-8"))


def check_baseline(folder: Path, content: bytes) -> str:
    from dhakacart_bench.gate.baseline import load_baseline

    path = folder / "baseline.json"
    path.write_bytes(content)
    return _outcome(lambda: load_baseline(path))


def check_host_flag(value: str) -> str:
    """``--host VALUE`` and the scenario key: one check (None: fine)."""
    from dhakacart_bench.scenario.parse import host_problem

    return "ok" if host_problem(value) is None else "error"


def check_duration_flag(value: str) -> str:
    """A duration flag (``--duration``, ``--deploy-at``): click's usage error (exit 2)."""
    import click

    from dhakacart_bench.cli.options import DurationType

    try:
        DurationType().convert(value, None, None)
    except click.BadParameter:
        return "error"
    return "ok"


def template_baseline() -> dict[str, Any]:
    return _template_baseline()
