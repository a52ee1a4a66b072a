"""The run folder's layout: its file names and format version, the columns of its CSV
files, the error kinds of errors.json, new run folders, and atomic writes.

Every file is written atomically (a temporary file in the same folder, fsync, rename);
``run.json`` is written last, so a folder without it is incomplete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

FORMAT = "dhakacart-bench/run"
FORMAT_VERSION = 1
RUN_JSON = "run.json"
SUMMARY_JSON = "summary.json"
HISTOGRAMS_JSON = "histograms.json"
WINDOWS_JSONL = "windows.jsonl"
TIMESERIES_CSV = "timeseries.csv"
ENDPOINT_TIMESERIES_CSV = "endpoint_timeseries.csv"
ERRORS_JSON = "errors.json"
REPORT_NAME = "report.html"
COMPARE_NAME = "compare.html"
GATE_JSON = "gate.json"
PROBE_CSV = "probe.csv"
PROBE_COLUMNS = ("t_s", "path", "ok", "status", "kind", "latency_ms")
EVENTS_DIR = "events"
TIMESERIES_COLUMNS = (
    "second",
    "time",
    "users",
    "requests",
    "failures",
    "bytes",
    "rps",
    "error_rate",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "gen_cpu_pct",
    "gen_lag_ms",
)
ENDPOINT_TIMESERIES_COLUMNS = (
    "second",
    "endpoint",
    "requests",
    "failures",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
)
TOTAL = "*"
ERROR_KINDS = ("http_status", "connection", "timeout", "validation", "exception")


def new_run_dir(base: Path, scenario_name: str, started_at: datetime) -> Path:
    """Create and return ``base/<YYYYmmddTHHMMSSZ>-<scenario>`` (``-2``, ``-3``... if taken)."""
    stamp = started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    base.mkdir(parents=True, exist_ok=True)
    name = f"{stamp}-{scenario_name}"
    suffix = 1
    while True:
        candidate = base / (name if suffix == 1 else f"{name}-{suffix}")
        try:
            candidate.mkdir()
        except FileExistsError:
            suffix += 1
            continue
        return candidate


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` less the process umask: what ``open(path, "w")`` gives a new file
    (0644 under the usual 022), so a copied run folder stays readable."""
    try:  # Linux: read it without setting it (os.umask(0) would race other threads)
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(x for x in status if x.startswith("Umask:"))
        mask = int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0)
        os.umask(mask)
    return mode & ~mask


@contextmanager
def _atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle on a temporary file that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, umask_mode())  # mkstemp makes 0600: give what open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: temp file in the same dir, fsync, rename."""
    with _atomic_writer(path) as handle:
        handle.write(text)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Serialise ``obj`` as indented JSON and write it atomically (nothing is written if
    serialisation fails)."""
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
