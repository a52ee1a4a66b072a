"""The two per-second CSV tables of a run folder, read defensively.

timeseries.csv and endpoint_timeseries.csv are derived from windows.jsonl when the run
ends (:mod:`~dhakacart_bench.runfolder.writer`). A damaged table never stops a report:
a bad row or value is blanked and named; a table that is missing, unreadable or
lacks its columns is rebuilt from windows.jsonl (what the windows hold: requests and
latency per second and endpoint) and named as rebuilt. Each problem is a string for
:meth:`~dhakacart_bench.runfolder.reader.Run.problems`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_COLUMNS,
    TIMESERIES_COLUMNS,
)
from dhakacart_bench.stats.hdr import add_histogram, clamp_us, values_at_percentiles

if TYPE_CHECKING:
    import pandas

#: Columns that hold text; every other column is numeric.
TEXT_COLUMNS = frozenset({"time", "endpoint"})
#: How many bad lines a problem names one by one.
_NAMED = 5

Windows = Iterable[tuple[int, dict[str, HdrHistogram]]]


def read_table(path: Path, columns: Sequence[str]) -> tuple[pandas.DataFrame | None, list[str]]:
    """``path`` as a DataFrame with numeric ``columns`` (bad values blanked, rows without
    a second dropped) and the problems found; ``None`` when it is not a usable table."""
    import pandas

    if not path.is_file():
        return None, [f"{path}: missing from the run folder"]
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [f"{path}: not UTF-8 text (offset {exc.start})"]
    except OSError as exc:
        return None, [f"{path}: cannot read ({exc.strerror or exc})"]
    skipped: list[int] = []
    frame = _parse(text, skipped)
    if frame is None:
        return None, [f"{path}: not a readable CSV file"]
    missing = [c for c in columns if c not in frame.columns]
    if len(missing) == len(columns):
        return None, [f"{path}: not a table of this run (no expected column in its header)"]
    if missing:
        return None, [f"{path}: columns missing: {', '.join(missing)}"]
    frame = frame[list(columns)].copy()
    bad_lines = set(skipped)
    for column in columns:
        if column in TEXT_COLUMNS:
            continue
        raw = frame[column]
        values = pandas.to_numeric(raw, errors="coerce")
        bad = values.isna() & (raw.str.strip() != "")
        bad_lines.update(int(i) + 2 for i in frame.index[bad])  # header is line 1
        frame[column] = values
    no_second = frame["second"].isna()
    frame = frame[~no_second].reset_index(drop=True)
    frame["second"] = frame["second"].astype("int64")
    problems = []
    if bad_lines:
        lines = sorted(bad_lines)
        named = ", ".join(map(str, lines[:_NAMED])) + (" …" if len(lines) > _NAMED else "")
        problems.append(f"{path}: {len(lines)} bad line(s) blanked or skipped (line {named})")
    return frame, problems


def _parse(text: str, skipped: list[int]) -> pandas.DataFrame | None:
    """All cells as strings; lines with the wrong number of fields are skipped and their
    line numbers appended to ``skipped``; ``None`` when the text is not CSV at all."""
    import pandas

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or len(set(header)) != len(header):
            return None
        rows = []
        for row in reader:
            if len(row) == len(header):
                rows.append(row)
            elif row:
                skipped.append(reader.line_num)
    except csv.Error:  # a NUL byte, an unterminated quote at the end
        return None
    return pandas.DataFrame(rows, columns=header, dtype=str)


def rebuild_endpoint_timeseries(windows: Windows) -> pandas.DataFrame:
    """endpoint_timeseries.csv from the windows: requests and latency per second and
    endpoint (failures are not in the windows: NaN)."""
    import pandas

    rows = []
    for second, hists in windows:
        for name in sorted(hists):
            hist = hists[name]
            if not hist.get_total_count():
                continue
            p50, p95, p99 = _ms_at(hist, (50.0, 95.0, 99.0))
            rows.append(
                (second, name, hist.get_total_count(), float("nan"), p50, p95, p99, _max(hist))
            )
    return pandas.DataFrame(rows, columns=list(ENDPOINT_TIMESERIES_COLUMNS))


def rebuild_timeseries(windows: Windows, failures: pandas.DataFrame | None) -> pandas.DataFrame:
    """timeseries.csv from the windows (one row per second from 0, idle seconds empty);
    failures from ``failures`` (endpoint_timeseries) when it is readable. Users, bytes
    and the generator's columns are not in the windows: NaN."""
    import pandas

    per_second: dict[int, HdrHistogram] = {}
    for second, hists in windows:
        for hist in hists.values():
            if second in per_second:
                add_histogram(per_second[second], hist)
            else:
                per_second[second] = hist
    failed: dict[int, float] = {}
    if failures is not None and len(failures):
        failed = failures.groupby("second")["failures"].sum(min_count=1).to_dict()
    nan = float("nan")
    rows = []
    last = max(per_second, default=-1)
    for second in range(min(0, *per_second) if per_second else 0, last + 1):
        hist = per_second.get(second)
        if hist is None or not hist.get_total_count():
            rows.append((second, "", nan, 0, 0, nan, 0, nan, *([nan] * 6), nan, nan))
            continue
        requests = hist.get_total_count()
        fails = failed.get(second, nan)
        rows.append(
            (
                second,
                "",
                nan,
                requests,
                fails,
                nan,
                requests,
                round(fails / requests, 6) if fails == fails else nan,
                round(hist.get_mean_value() / 1000, 3),
                *_ms_at(hist, (50.0, 90.0, 95.0, 99.0)),
                _max(hist),
                nan,
                nan,
            )
        )
    return pandas.DataFrame(rows, columns=list(TIMESERIES_COLUMNS))


def _ms_at(hist: HdrHistogram, percentiles: Sequence[float]) -> list[float]:
    low, high = hist.get_min_value(), hist.get_max_value()
    return [clamp_us(v, low, high) / 1000 for v in values_at_percentiles(hist, percentiles)]


def _max(hist: HdrHistogram) -> float:
    return float(hist.get_max_value()) / 1000
