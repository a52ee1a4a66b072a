"""HDR helpers and the one percentile implementation, against hdrh and exact samples."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dhakacart_bench.stats.hdr import (
    HDR_HIGHEST_US,
    add_histogram,
    decode_histogram,
    encode_histogram,
    hist_stats,
    new_histogram,
    percentile_spectrum,
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
