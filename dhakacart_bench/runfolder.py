"""Writing and reading run folders (the format is specified in docs/run-folder.md).

A run folder is the contract between measuring and analysing. Every file is
written atomically (temporary file in the same directory, fsync, rename);
``run.json`` is written last by the runner, so a folder without it is
incomplete. Reading is lazy: :func:`load_run` reads only ``run.json``,
``summary.json`` and ``errors.json``; histograms, windows and time series are
read when asked for, and ``windows.jsonl`` is streamed line by line.

pandas is imported only inside the methods that return DataFrames.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.metrics import (
    HDR_HIGHEST_US,
    HDR_LOWEST_US,
    HDR_SIGNIFICANT_FIGURES,
    TOTAL,
    Measurements,
    WindowData,
    add_histogram,
    clamp_us,
    decode_histogram,
    encode_histogram,
    release_histogram,
    values_at_percentiles,
)

if TYPE_CHECKING:
    import pandas

FORMAT = "dhakacart-bench/run"
FORMAT_VERSION = 1

RUN_JSON = "run.json"
SUMMARY_JSON = "summary.json"
HISTOGRAMS_JSON = "histograms.json"
WINDOWS_JSONL = "windows.jsonl"
TIMESERIES_CSV = "timeseries.csv"
ENDPOINT_TIMESERIES_CSV = "endpoint_timeseries.csv"
ERRORS_JSON = "errors.json"

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
_TIMESERIES_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
_ENDPOINT_PERCENTILES = (50.0, 95.0, 99.0)


# --------------------------------------------------------------------------- writing


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


@contextmanager
def _atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle on a temporary file that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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


def _ms(us: int | float) -> float:
    return us / 1000


def write_measurements(run_dir: Path, measurements: Measurements) -> None:
    """Write summary.json, histograms.json, windows.jsonl, timeseries.csv,
    endpoint_timeseries.csv and errors.json into ``run_dir``, each atomically.

    windows.jsonl and endpoint_timeseries.csv are streamed (one window decoded at a time).
    """
    run_dir = Path(run_dir)
    m = measurements
    atomic_write_json(run_dir / SUMMARY_JSON, m.summary())
    atomic_write_json(
        run_dir / HISTOGRAMS_JSON,
        {
            "unit": "us",
            "lowest": HDR_LOWEST_US,
            "highest": HDR_HIGHEST_US,
            "significant_figures": HDR_SIGNIFICANT_FIGURES,
            "total": encode_histogram(m.total),
            "endpoints": {
                name: encode_histogram(m.endpoints[name]) for name in sorted(m.endpoints)
            },
        },
    )
    atomic_write_json(run_dir / ERRORS_JSON, m.errors)

    series_rows: dict[int, list[Any]] = {}
    with (
        _atomic_writer(run_dir / WINDOWS_JSONL) as windows_out,
        _atomic_writer(run_dir / ENDPOINT_TIMESERIES_CSV) as endpoints_out,
    ):
        endpoint_writer = csv.writer(endpoints_out, lineterminator="\n")
        endpoint_writer.writerow(ENDPOINT_TIMESERIES_COLUMNS)
        for window in m.windows:
            second = window.epoch_second - m.first_epoch_second
            names = sorted(name for name, ew in window.endpoints.items() if ew.requests)
            if not names:
                continue
            record = {
                "second": second,
                "endpoints": {n: window.endpoints[n].histogram_b64 for n in names},
            }
            windows_out.write(json.dumps(record, separators=(",", ":")) + "\n")
            series_rows[second] = _window_rows(second, window, names, endpoint_writer)

    atomic_write_text(run_dir / TIMESERIES_CSV, _timeseries_text(m, series_rows))


def _window_rows(
    second: int, window: WindowData, names: list[str], endpoint_writer: Any
) -> list[Any]:
    """Write one window's endpoint_timeseries rows; return its timeseries.csv data columns."""
    total_hist: HdrHistogram | None = None
    requests = failures = nbytes = sum_us = max_us = 0
    min_us = HDR_HIGHEST_US
    for name in names:
        ew = window.endpoints[name]
        hist = ew.histogram()
        values = values_at_percentiles(hist, _ENDPOINT_PERCENTILES)
        endpoint_writer.writerow(
            [second, name, ew.requests, ew.failures]
            + [_ms(clamp_us(v, ew.min_us, ew.max_us)) for v in values]
            + [_ms(ew.max_us)]
        )
        if total_hist is None:
            total_hist = hist
        else:
            add_histogram(total_hist, hist)
            release_histogram(hist)
        requests += ew.requests
        failures += ew.failures
        nbytes += ew.bytes
        sum_us += ew.sum_us
        min_us = min(min_us, ew.min_us)
        max_us = max(max_us, ew.max_us)
    assert total_hist is not None
    values = values_at_percentiles(total_hist, _TIMESERIES_PERCENTILES)
    release_histogram(total_hist)
    return [
        requests,
        failures,
        nbytes,
        requests,  # rps: requests completed in this one-second window
        round(failures / requests, 6),
        round(sum_us / requests / 1000, 3),
        *(_ms(clamp_us(v, min_us, max_us)) for v in values),
        _ms(max_us),
    ]


def _timeseries_text(m: Measurements, series_rows: dict[int, list[Any]]) -> str:
    """timeseries.csv: one row for every second from 0 (or the first window) to the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TIMESERIES_COLUMNS)
    idle = [0, 0, 0, 0, *([""] * 7)]  # error_rate, mean and latency columns empty
    first = m.first_epoch_second
    for second in range(min(0, *series_rows) if series_rows else 0, m.last_second + 1):
        generator = m.generator_by_second.get(second)
        writer.writerow(
            [
                second,
                datetime.fromtimestamp(first + second, UTC).isoformat(),
                m.users_by_second.get(second, ""),
                *series_rows.get(second, idle),
                *(("", "") if generator is None else generator),
            ]
        )
    return buffer.getvalue()


def write_run_json(run_dir: Path, meta: Mapping[str, Any]) -> None:
    """Write run.json (``meta`` plus ``format``/``format_version``), atomically.

    The runner calls this last: the presence of run.json marks a complete folder.
    """
    data = {"format": FORMAT, "format_version": FORMAT_VERSION}
    data.update({k: v for k, v in meta.items() if k not in ("format", "format_version")})
    atomic_write_json(Path(run_dir) / RUN_JSON, data)


# --------------------------------------------------------------------------- reading


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing from the run folder") from None
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFolderError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


@dataclass(frozen=True)
class Run:
    """A complete run folder, read lazily (see :func:`load_run`)."""

    path: Path
    meta: dict[str, Any]
    summary: dict[str, Any]
    errors: list[dict[str, Any]]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        """The run's id (the folder name unless run.json says otherwise)."""
        return str(self.meta.get("run_id") or self.path.name)

    @property
    def scenario_name(self) -> str:
        """The scenario's name."""
        return str(self.meta.get("scenario_name", ""))

    @property
    def status(self) -> str:
        """``completed``, ``interrupted`` or ``failed``."""
        return str(self.meta.get("status", ""))

    @property
    def workload_model(self) -> str:
        """``closed`` (user stages) or ``open`` (arrival rate)."""
        return str(self.meta.get("workload_model", ""))

    @property
    def duration_s(self) -> float:
        """The measured duration in seconds."""
        value = self.meta.get("duration_s", self.summary.get("duration_s", 0.0))
        return float(value or 0.0)

    def endpoints(self) -> list[str]:
        """Endpoint names, sorted (without the ``"*"`` aggregate)."""
        return [str(row["name"]) for row in self.summary.get("endpoints", [])]

    def _histograms(self) -> dict[str, Any]:
        """histograms.json, parsed once (it is small: one encoding per endpoint)."""
        data = self._cache.get(HISTOGRAMS_JSON)
        if data is None:
            data = _read_json(self.path / HISTOGRAMS_JSON)
            if not isinstance(data, dict) or "total" not in data or "endpoints" not in data:
                raise RunFolderError(f"{self.path / HISTOGRAMS_JSON}: not a histograms file")
            self._cache[HISTOGRAMS_JSON] = data
        return data

    def histogram(self, endpoint: str = TOTAL) -> HdrHistogram:
        """The whole-run histogram (µs) of one endpoint, or of all (``"*"``).

        Raises KeyError naming the known endpoints when ``endpoint`` is unknown.
        """
        data = self._histograms()
        if endpoint == TOTAL:
            return decode_histogram(data["total"])
        try:
            encoded = data["endpoints"][endpoint]
        except KeyError:
            known = ", ".join(sorted(data["endpoints"])) or "none"
            raise KeyError(f"no endpoint {endpoint!r} in {self.path}; known: {known}") from None
        return decode_histogram(encoded)

    def iter_windows(self) -> Iterator[tuple[int, dict[str, HdrHistogram]]]:
        """Stream ``(second, {endpoint: histogram})`` from windows.jsonl, in order."""
        path = self.path / WINDOWS_JSONL
        try:
            handle = path.open(encoding="utf-8")
        except FileNotFoundError:
            raise RunFolderError(f"{path}: missing from the run folder") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    yield (
                        int(record["second"]),
                        {
                            name: decode_histogram(encoded)
                            for name, encoded in record["endpoints"].items()
                        },
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise RunFolderError(f"{path}: line {number} is invalid ({exc})") from None

    def _csv(self, name: str) -> pandas.DataFrame:
        import pandas

        path = self.path / name
        if not path.is_file():
            raise RunFolderError(f"{path}: missing from the run folder")
        return pandas.read_csv(path)

    def timeseries(self) -> pandas.DataFrame:
        """timeseries.csv as a DataFrame (one row per second; NaN latency when idle)."""
        return self._csv(TIMESERIES_CSV)

    def endpoint_timeseries(self) -> pandas.DataFrame:
        """endpoint_timeseries.csv as a DataFrame."""
        return self._csv(ENDPOINT_TIMESERIES_CSV)


def load_run(path: Path | str) -> Run:
    """Open a complete run folder; RunFolderError (naming the file) if it is not one."""
    folder = Path(path)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: no such run folder")
    run_json = folder / RUN_JSON
    if not run_json.is_file():
        raise RunFolderError(
            f"{folder}: incomplete run folder: run.json missing"
            " — the run may have crashed before finishing"
        )
    meta = _read_json(run_json)
    if not isinstance(meta, dict):
        raise RunFolderError(f"{run_json}: expected a JSON object")
    if meta.get("format") != FORMAT:
        raise RunFolderError(
            f"{run_json}: not a dhakacart-bench run (format {meta.get('format')!r},"
            f" expected {FORMAT!r})"
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunFolderError(f"{run_json}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise RunFolderError(
            f"{run_json}: format_version {version} is newer than this dhakacart-bench"
            f" supports ({FORMAT_VERSION}); upgrade dhakacart-bench to read it"
        )
    summary = _read_json(folder / SUMMARY_JSON)
    if not isinstance(summary, dict):
        raise RunFolderError(f"{folder / SUMMARY_JSON}: expected a JSON object")
    errors = _read_json(folder / ERRORS_JSON)
    if not isinstance(errors, list):
        raise RunFolderError(f"{folder / ERRORS_JSON}: expected a JSON list")
    return Run(path=folder, meta=meta, summary=summary, errors=errors)


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Run",
    "atomic_write_json",
    "atomic_write_text",
    "load_run",
    "new_run_dir",
    "write_measurements",
    "write_run_json",
]
