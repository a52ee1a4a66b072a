"""Reading a run folder, lazily: :func:`load_run` reads run.json, summary.json and
errors.json (typed, see :mod:`~dhakacart_bench.runfolder.meta`); histograms, windows and
time series are read when asked for, and ``windows.jsonl`` is streamed line by line.

pandas is imported only inside the methods that return DataFrames.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram

from dhakacart_bench.errors import RunFolderError, UsageError
from dhakacart_bench.runfolder import series
from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_COLUMNS,
    ENDPOINT_TIMESERIES_CSV,
    ERRORS_JSON,
    FORMAT,
    FORMAT_VERSION,
    HISTOGRAMS_JSON,
    RUN_JSON,
    SUMMARY_JSON,
    TIMESERIES_COLUMNS,
    TIMESERIES_CSV,
    TOTAL,
    WINDOWS_JSONL,
)
from dhakacart_bench.runfolder.meta import ErrorRecord, RunMeta, Summary, decode
from dhakacart_bench.scenario.model import Scenario
from dhakacart_bench.stats.availability import Check
from dhakacart_bench.stats.hdr import BadHistogram, decode_histogram

if TYPE_CHECKING:
    import pandas


def read_json(
    path: Path, *, error: type[UsageError] = RunFolderError, missing: str | None = None
) -> Any:
    """``path`` parsed as UTF-8 JSON; ``error`` (naming the file, and the line and column
    or the byte) when it is missing, unreadable, not UTF-8 or not JSON."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {missing or 'missing from the run folder'}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start});"
            " expected a JSON file"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply") from None


_read_json = read_json
#: How many skipped items :meth:`Run.problems` names one by one (the rest are counted).
NAMED_PROBLEMS = 5


@dataclass(frozen=True)
class Run:
    """A complete run folder, read lazily (see :func:`load_run`)."""

    path: Path
    meta: RunMeta
    summary: Summary
    errors: tuple[ErrorRecord, ...]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        """The run's id (the folder name unless run.json says otherwise)."""
        return self.meta.run_id or self.path.name

    @property
    def scenario_name(self) -> str:
        """The scenario's name."""
        return self.meta.scenario_name

    @property
    def scenario(self) -> Scenario:
        """The scenario as it ran (sized and timed), from run.json."""
        return self.meta.scenario

    @property
    def status(self) -> str:
        """``completed``, ``interrupted`` or ``failed``."""
        return self.meta.status

    @property
    def workload_model(self) -> str:
        """``closed`` (user stages) or ``open`` (arrival rate)."""
        return self.meta.workload_model

    @property
    def duration_s(self) -> float:
        """The measured duration in seconds."""
        return self.meta.duration_s or self.summary.duration_s

    def endpoints(self) -> list[str]:
        """Endpoint names, sorted (without the ``"*"`` aggregate)."""
        return [row.name for row in self.summary.endpoints]

    def _histograms(self) -> dict[str, Any]:
        """histograms.json, parsed once (it is small: one encoding per endpoint)."""
        data = self._cache.get(HISTOGRAMS_JSON)
        if data is None:
            path = self.path / HISTOGRAMS_JSON
            data = _read_json(path)
            if (
                not isinstance(data, dict)
                or "total" not in data
                or not isinstance(data.get("endpoints"), dict)
            ):
                raise RunFolderError(
                    f"{path}: not a histograms file (expected an object with"
                    ' "total" and "endpoints")'
                )
            self._cache[HISTOGRAMS_JSON] = data
        return data

    def histogram(self, endpoint: str = TOTAL) -> HdrHistogram:
        """The whole-run histogram (µs) of one endpoint, or of all (``"*"``).

        Raises KeyError naming the known endpoints when ``endpoint`` is unknown, and
        RunFolderError (naming the file and endpoint) when its encoding is bad.
        """
        data = self._histograms()
        if endpoint == TOTAL:
            encoded = data["total"]
        else:
            try:
                encoded = data["endpoints"][endpoint]
            except KeyError:
                known = ", ".join(sorted(map(str, data["endpoints"]))) or "none"
                raise KeyError(f"no endpoint {endpoint!r} in {self.path}; known: {known}") from None
        try:
            return decode_histogram(encoded)
        except BadHistogram as exc:
            where = "total" if endpoint == TOTAL else f"endpoints[{endpoint!r}]"
            raise RunFolderError(f"{self.path / HISTOGRAMS_JSON}: {where}: {exc}") from None

    def iter_windows(self) -> Iterator[tuple[int, dict[str, HdrHistogram]]]:
        """Stream ``(second, {endpoint: histogram})`` from windows.jsonl, in order.

        A line that does not parse is skipped, not fatal: what is intact is still
        evidence. :meth:`problems` names what was skipped (the gate refuses a run
        with any; the report and the verdict say the data are incomplete).
        """
        for _number, record, _error in self._window_records():
            if record is not None:
                yield record

    def _window_records(
        self,
    ) -> Iterator[tuple[int, tuple[int, dict[str, HdrHistogram]] | None, str | None]]:
        """``(line number, record or None, why it is bad or None)`` for each line."""
        path = self.path / WINDOWS_JSONL
        try:
            handle = path.open("rb")
        except OSError:
            return
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                    hists = record["endpoints"]
                    if not isinstance(hists, dict):
                        raise TypeError("endpoints is not an object")
                    yield (
                        number,
                        (
                            _second(record["second"]),
                            {str(n): decode_histogram(e) for n, e in hists.items()},
                        ),
                        None,
                    )
                except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
                    why = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                    yield number, None, why

    def problems(self) -> tuple[str, ...]:
        """What of the run folder's measured data could not be read (and is skipped):
        a missing or bad histograms.json or histogram, missing, empty or bad lines of
        windows.jsonl. Empty for an intact folder. Read once, then cached."""
        cached = self._cache.get("problems")
        if cached is not None:
            return tuple(cached)
        found: list[str] = []
        try:
            data = self._histograms()
        except RunFolderError as exc:
            found.append(str(exc))
        else:
            for name in [TOTAL, *sorted(map(str, data["endpoints"]))]:
                try:
                    self.histogram(name)
                except RunFolderError as exc:
                    found.append(str(exc))
        path = self.path / WINDOWS_JSONL
        if not path.is_file():
            found.append(f"{path}: missing from the run folder")
        else:
            bad, good = [], 0
            for number, record, why in self._window_records():
                if record is None:
                    bad.append(f"line {number} ({why})")
                else:
                    good += 1
            if bad:
                named = "; ".join(bad[:NAMED_PROBLEMS])
                more = (
                    f"; and {len(bad) - NAMED_PROBLEMS} more" if len(bad) > NAMED_PROBLEMS else ""
                )
                found.append(f"{path}: {len(bad)} bad line(s) skipped: {named}{more}")
            if not good and self.summary.total.count:
                found.append(f"{path}: no window of the {self.summary.total.count:,} requests")
        for table in (TIMESERIES_CSV, ENDPOINT_TIMESERIES_CSV):
            found.extend(self._table(table)[1])
        self._cache["problems"] = found
        return tuple(found)

    def require_complete(self) -> None:
        """RunFolderError naming every problem (see :meth:`problems`) unless there is none."""
        found = self.problems()
        if found:
            raise RunFolderError(
                f"{self.path}: the measured data are incomplete, so this run cannot be"
                " judged as a whole: " + " | ".join(found)
            )

    def _table(self, name: str) -> tuple[pandas.DataFrame, list[str]]:
        """One of the two CSV tables and its problems, read once (see
        :mod:`~dhakacart_bench.runfolder.series`): a damaged table is rebuilt from
        windows.jsonl, never fatal."""
        cached = self._cache.get(name)
        if cached is None:
            columns = TIMESERIES_COLUMNS if name == TIMESERIES_CSV else ENDPOINT_TIMESERIES_COLUMNS
            frame, found = series.read_table(self.path / name, columns)
            if frame is None:
                if name == TIMESERIES_CSV:
                    failures, _ = self._table(ENDPOINT_TIMESERIES_CSV)
                    frame = series.rebuild_timeseries(self.iter_windows(), failures)
                    unknown = "users, bytes and the generator's columns"
                else:
                    frame = series.rebuild_endpoint_timeseries(self.iter_windows())
                    unknown = "failures per second"
                found = [f"{found[0]}; rebuilt from {WINDOWS_JSONL} ({unknown} unknown)"]
            cached = self._cache[name] = (frame, found)
        return cached[0].copy(), list(cached[1])

    def timeseries(self) -> pandas.DataFrame:
        """timeseries.csv as a DataFrame (one row per second; NaN latency when idle)."""
        return self._table(TIMESERIES_CSV)[0]

    def endpoint_timeseries(self) -> pandas.DataFrame:
        """endpoint_timeseries.csv as a DataFrame."""
        return self._table(ENDPOINT_TIMESERIES_CSV)[0]


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
    summary = decode(_read_json(folder / SUMMARY_JSON), Summary, where=str(folder / SUMMARY_JSON))
    errors = decode(
        _read_json(folder / ERRORS_JSON), tuple[ErrorRecord, ...], where=str(folder / ERRORS_JSON)
    )
    return Run(
        path=folder,
        meta=decode(meta, RunMeta, where=str(run_json)),
        summary=summary,
        errors=errors,
    )


def _second(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise TypeError(f"second is not a number: {value!r}")
    return int(value)


def read_probe_csv(text: str) -> list[Check]:
    """Parse ``probe.csv`` (written by the probe sidecar)."""
    rows = csv.DictReader(text.splitlines())
    return [
        Check(
            t_s=float(r["t_s"]),
            path=r["path"],
            ok=r["ok"] == "1",
            status=int(r["status"]) if r["status"] else None,
            kind=r["kind"],
            latency_ms=float(r["latency_ms"]),
        )
        for r in rows
    ]


LATEST = "latest"


def resolve_run_dir(run_dir: str, reports_dir: Path, *, ab: bool = False) -> Path:
    """``RUN_DIR`` as given, or for ``latest`` the newest complete run folder under
    ``reports_dir`` (by the timestamp its name starts with, then by run.json's time)."""
    path = Path(run_dir)
    if run_dir != LATEST or path.exists():
        return path

    names = ("run.json", "ab.json") if ab else ("run.json",)

    def marker(p: Path) -> Path | None:  # run.json, or (with ``ab``) an A/B folder's ab.json
        return next((p / n for n in names if (p / n).is_file()), None)

    candidates = [p for p in reports_dir.iterdir() if marker(p)] if reports_dir.is_dir() else []
    if not candidates:
        raise RunFolderError(f"{reports_dir}: no complete run folder to use as 'latest'")
    return max(candidates, key=lambda p: (p.name[:16], marker(p).stat().st_mtime))  # type: ignore[union-attr]
