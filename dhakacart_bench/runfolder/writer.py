"""Writing a run folder: summary.json, histograms.json, windows.jsonl, the two CSV time
series, errors.json, probe.csv, and run.json last (the format: docs/run-folder.md).

windows.jsonl and endpoint_timeseries.csv are streamed, one window decoded at a time.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram

from dhakacart_bench.runfolder.layout import (
    ENDPOINT_TIMESERIES_COLUMNS,
    ENDPOINT_TIMESERIES_CSV,
    ERRORS_JSON,
    FORMAT,
    FORMAT_VERSION,
    HISTOGRAMS_JSON,
    PROBE_COLUMNS,
    RUN_JSON,
    SUMMARY_JSON,
    TIMESERIES_COLUMNS,
    TIMESERIES_CSV,
    WINDOWS_JSONL,
    _atomic_writer,
    atomic_write_json,
    atomic_write_text,
)
from dhakacart_bench.runfolder.meta import RunMeta, encode
from dhakacart_bench.stats.hdr import (
    HDR_HIGHEST_US,
    HDR_LOWEST_US,
    HDR_SIGNIFICANT_FIGURES,
    add_histogram,
    clamp_us,
    encode_histogram,
    release_histogram,
    values_at_percentiles,
)

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.windows import Measurements, WindowData
    from dhakacart_bench.stats.availability import Check


_TIMESERIES_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
_ENDPOINT_PERCENTILES = (50.0, 95.0, 99.0)


def _ms(us: int | float) -> float:
    return us / 1000


def write_measurements(run_dir: Path, measurements: Measurements) -> None:
    """Write summary.json, histograms.json, windows.jsonl, timeseries.csv,
    endpoint_timeseries.csv and errors.json into ``run_dir``, each atomically.

    windows.jsonl and endpoint_timeseries.csv are streamed (one window decoded at a time).
    """
    run_dir = Path(run_dir)
    m = measurements
    atomic_write_json(run_dir / SUMMARY_JSON, encode(m.summary()))
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
    atomic_write_json(run_dir / ERRORS_JSON, encode(list(m.errors)))

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


def write_run_json(run_dir: Path, meta: RunMeta) -> None:
    """Write run.json (``meta`` plus ``format``/``format_version``), atomically.

    The runner calls this last: the presence of run.json marks a complete folder.
    """
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, **encode(meta)}
    atomic_write_json(Path(run_dir) / RUN_JSON, data)


def probe_csv_text(checks: list[Check]) -> str:
    """``probe.csv``: one row per check, ordered by send time."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PROBE_COLUMNS)
    for c in sorted(checks, key=lambda c: (c.t_s, c.path)):
        status = "" if c.status is None else c.status
        row = [f"{c.t_s:.3f}", c.path, int(c.ok), status, c.kind, f"{c.latency_ms:.3f}"]
        writer.writerow(row)
    return buf.getvalue()
