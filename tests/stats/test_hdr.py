"""HDR helpers and the one percentile implementation, against hdrh and exact samples."""

from __future__ import annotations

import random
import subprocess
import sys
from array import array

import numpy as np
import pytest

from dhakacart_bench.stats.hdr import (
    HDR_HIGHEST_US,
    _values_at_percentiles_py,
    add_histogram,
    add_span,
    counts_span,
    decode_histogram,
    encode_histogram,
    hist_stats,
    histogram_counts,
    new_histogram,
    percentile_spectrum,
    record_values,
    to_us,
    values_at_percentiles,
)


def test_to_us_rounds_and_clamps() -> None:
    assert to_us(0.0) == 1
    assert to_us(0.0004) == 1
    assert to_us(1.2344) == 1234
    assert to_us(1.2346) == 1235
    assert to_us(10**9) == HDR_HIGHEST_US


def test_values_at_percentiles_equals_hdrh() -> None:
    hist = new_histogram()
    rng = random.Random(7)
    for _ in range(5000):
        hist.record_value(int(rng.lognormvariate(9, 1.5)) + 1)
    points = [0.0, 0.1, 1, 5, 33.3, 50, 90, 95, 99, 99.9, 99.999, 100]
    assert values_at_percentiles(hist, points) == [hist.get_value_at_percentile(p) for p in points]
    decoded = decode_histogram(encode_histogram(hist))
    merged = new_histogram()
    add_histogram(merged, decoded)
    merged.record_value(3)
    for h in (decoded, merged):
        assert values_at_percentiles(h, points) == [h.get_value_at_percentile(p) for p in points]
    assert values_at_percentiles(new_histogram(), [50]) == [0]


def test_hist_stats_matches_hdrhistogram_exactly() -> None:
    rng = np.random.default_rng(7)
    h = new_histogram()
    for v in rng.lognormal(9, 1.2, 5000):
        h.record_value(int(v) + 1)
    st = hist_stats(h)
    assert st.count == 5000
    for metric, pct in (
        ("p50_ms", 50),
        ("p90_ms", 90),
        ("p95_ms", 95),
        ("p99_ms", 99),
        ("p999_ms", 99.9),
    ):
        assert st.get(metric) == h.get_value_at_percentile(pct) / 1000
    assert st.max_ms == h.get_max_value() / 1000
    assert st.min_ms == h.get_min_value() / 1000
    assert st.mean_ms == pytest.approx(h.get_mean_value() / 1000)
    assert hist_stats(new_histogram()).count == 0


def test_percentile_spectrum_is_monotone_and_ends_at_max() -> None:
    h = new_histogram()
    for v in range(1, 10_001):
        h.record_value(v * 10)
    spectrum = percentile_spectrum(h)
    values = [v for _, v in spectrum]
    assert values == sorted(values)
    assert spectrum[-1] == (100.0, h.get_max_value() / 1000)
    assert any(p == pytest.approx(99.0) for p, _ in spectrum)


def _values() -> list[int]:
    rng = random.Random(14)
    edges = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, HDR_HIGHEST_US - 1, HDR_HIGHEST_US]
    return edges + [int(rng.lognormvariate(8, 3)) % (HDR_HIGHEST_US + 1) for _ in range(20_000)]


def test_record_values_records_exactly_what_record_value_does() -> None:
    one_by_one, at_once = new_histogram(), new_histogram()
    values = _values()
    for value in values:
        one_by_one.record_value(value)
    record_values(at_once, values[:5000])
    record_values(at_once, array("q", values[5000:]))  # into a histogram already in use
    record_values(at_once, [])
    assert histogram_counts(at_once) == histogram_counts(one_by_one)
    for attr in ("total_count", "min_value", "max_value"):
        assert getattr(at_once, attr) == getattr(one_by_one, attr), attr
    assert encode_histogram(at_once) == encode_histogram(one_by_one)


def test_add_histogram_over_the_occupied_buckets_equals_hdrh_add() -> None:
    values = _values()
    for part in (values[12:40], values, [5, 7], [HDR_HIGHEST_US]):
        other = new_histogram()
        record_values(other, part)
        for decoded in (False, True):
            source = decode_histogram(encode_histogram(other)) if decoded else other
            ours, theirs = new_histogram(), new_histogram()
            record_values(ours, [300, 90_000])
            record_values(theirs, [300, 90_000])
            add_histogram(ours, source)
            theirs.add(source)
            assert histogram_counts(ours) == histogram_counts(theirs)
            assert (ours.total_count, ours.min_value, ours.max_value) == (
                theirs.total_count,
                theirs.min_value,
                theirs.max_value,
            )


def test_the_plain_python_percentiles_equal_the_vectorised_ones() -> None:
    percentiles = [0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0, 120.0]
    values = _values()
    for part in (values[:1], values[12:40], values, [5, 7, 7, 7], [HDR_HIGHEST_US]):
        hist = new_histogram()
        record_values(hist, part)
        assert _values_at_percentiles_py(hist, percentiles) == values_at_percentiles(
            hist, percentiles
        )
    assert _values_at_percentiles_py(new_histogram(), [50.0]) == [0]


def test_measuring_does_not_load_numpy() -> None:
    """numpy is ~11 MiB of the load generator's memory: recording, closing windows,
    merging a worker's windows and the progress line's p95 do without it."""
    code = (
        "import sys\n"
        "from dhakacart_bench.measure.recorder import Recorder\n"
        "r, w = Recorder(run_start=100.0), Recorder(run_start=100.0)\n"
        "for i in range(3000):\n"
        "    w.on_request('GET', '/a', 0.5 + i % 50, 10, None, start_time=100 + i / 1000)\n"
        "r.ingest(w.close_windows(110.0))\n"
        "r.close_windows(110.0)\n"
        "assert r.live(103.5).p95_ms is not None\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False", out.stderr


def test_a_counts_span_adds_back_exactly_what_its_histogram_held() -> None:
    values = _values()
    for part in (values[12:40], values, [7]):
        hist = new_histogram()
        record_values(hist, part)
        span = counts_span(hist)
        assert span is not None and len(span.counts) <= hist.counts_len
        via_span, direct = new_histogram(), new_histogram()
        record_values(via_span, [300])
        record_values(direct, [300])
        add_span(via_span, span)
        add_histogram(direct, hist)
        assert histogram_counts(via_span) == histogram_counts(direct)
        assert (via_span.total_count, via_span.min_value, via_span.max_value) == (
            direct.total_count,
            direct.min_value,
            direct.max_value,
        )
    assert counts_span(new_histogram()) is None
