"""Fuzzing every loader for longer than the suite does: random (not derandomized)
examples per loader, each a clean BenchError or a valid result.

The suite (tests/fuzz/test_loaders.py) runs 40 fixed examples per loader; this runs
``--examples`` random ones per loader and prints, per loader, how many were tried, how
many loaded, how many were refused with a BenchError, and how many raised anything
else (a bug; hypothesis then shrinks and prints the smallest input).

    python benchmarks/fuzz_loaders.py [--examples 1000]
"""

from __future__ import annotations

import locust  # noqa: F401  # first: it patches gevent, before anything imports ssl

# isort: split
import argparse
import json
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dhakacart_bench.runfolder.layout import (  # noqa: E402
    ENDPOINT_TIMESERIES_CSV,
    ERRORS_JSON,
    HISTOGRAMS_JSON,
    RUN_JSON,
    SUMMARY_JSON,
    TIMESERIES_CSV,
    WINDOWS_JSONL,
)
from tests.fuzz import loaders  # noqa: E402


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-fuzz-bench-"))


def _cases() -> dict[str, tuple[st.SearchStrategy, Callable[[object], str]]]:
    def run_shapes(name: str) -> Callable[[st.DataObject], str]:
        def check(data: st.DataObject) -> str:
            doc = loaders.mutate(loaders.template_file(name), data, loaders.JSON_VALUES)
            return loaders.check_run_folder(_folder(), name, json.dumps(doc).encode())

        return check

    def windows(data: st.DataObject) -> str:
        lines = loaders.template_file(WINDOWS_JSONL)
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = loaders.mutate(lines[i], data, loaders.JSON_VALUES)
        text = "".join(json.dumps(x) + "\n" for x in lines).encode()
        return loaders.check_run_folder(_folder(), WINDOWS_JSONL, text)

    def csv_cell(name: str) -> Callable[[st.DataObject], str]:
        def check(data: st.DataObject) -> str:
            content = loaders.csv_with_one_cell(name, data)
            return loaders.check_run_folder(_folder(), name, content)

        return check

    def scenario(data: st.DataObject) -> str:
        doc = loaders.mutate(loaders.smoke_document(), data, loaders.TOML_VALUES)
        doc = doc if isinstance(doc, dict) else {"name": doc}
        return loaders.check_scenario(_folder(), loaders.toml_text(doc).encode())

    def baseline(data: st.DataObject) -> str:
        doc = loaders.mutate(loaders.template_baseline(), data, loaders.JSON_VALUES)
        return loaders.check_baseline(_folder(), json.dumps(doc).encode())

    cases: dict[str, tuple[st.SearchStrategy, Callable[[object], str]]] = {
        "scenario TOML (bytes)": (
            loaders.RAW_BYTES,
            lambda b: loaders.check_scenario(_folder(), b),  # type: ignore[arg-type]
        ),
        "scenario TOML (shapes)": (st.data(), scenario),  # type: ignore[dict-item]
        "baseline (bytes)": (
            loaders.RAW_BYTES,
            lambda b: loaders.check_baseline(_folder(), b),  # type: ignore[arg-type]
        ),
        "baseline (shapes)": (st.data(), baseline),  # type: ignore[dict-item]
        "windows.jsonl (shapes)": (st.data(), windows),  # type: ignore[dict-item]
        "--host / --duration flags": (
            st.text(max_size=40),
            lambda v: loaders.check_host_flag(v) + loaders.check_duration_flag(v),  # type: ignore[arg-type]
        ),
    }
    for name in (TIMESERIES_CSV, ENDPOINT_TIMESERIES_CSV):
        cases[f"{name} (one cell)"] = (st.data(), csv_cell(name))  # type: ignore[assignment]
    for name in (
        RUN_JSON,
        SUMMARY_JSON,
        ERRORS_JSON,
        HISTOGRAMS_JSON,
        WINDOWS_JSONL,
        TIMESERIES_CSV,
        ENDPOINT_TIMESERIES_CSV,
    ):
        cases[f"{name} (bytes)"] = (
            loaders.RAW_BYTES,
            lambda b, n=name: loaders.check_run_folder(_folder(), n, b),  # type: ignore[misc]
        )
    for name in (RUN_JSON, SUMMARY_JSON, ERRORS_JSON, HISTOGRAMS_JSON):
        cases[f"{name} (shapes)"] = (st.data(), run_shapes(name))  # type: ignore[assignment]
    return cases


def _fuzzer(
    fuzz: settings,
    strategy: st.SearchStrategy,
    check: Callable[[object], str],
    counts: Counter[str],
) -> Callable[[], None]:
    @fuzz
    @given(value=strategy)
    def run(value: object) -> None:
        try:
            counts[check(value)] += 1
        except Exception:
            counts["other"] += 1
            raise

    return run  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000)
    args = parser.parse_args()
    fuzz = settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    total_unexpected = 0
    print(f"{'loader':30} {'examples':>9} {'ok':>7} {'BenchError':>10} {'other':>6} {'s':>6}")
    for label, (strategy, check) in _cases().items():
        counts: Counter[str] = Counter()

        run = _fuzzer(fuzz, strategy, check, counts)
        started = time.perf_counter()
        try:
            run()
        except Exception:  # hypothesis re-raises the shrunk failure
            traceback.print_exc()
            counts["other"] = max(counts["other"], 1)
        seconds = time.perf_counter() - started
        tried = sum(counts.values())
        ok = counts["ok"] + counts["okok"] + counts["okerror"] + counts["errorok"]
        refused = counts["error"] + counts["errorerror"]
        total_unexpected += counts["other"]
        print(f"{label:30} {tried:9,} {ok:7,} {refused:10,} {counts['other']:6,} {seconds:6.1f}")
    print(f"unexpected exceptions: {total_unexpected}")
    return 1 if total_unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
