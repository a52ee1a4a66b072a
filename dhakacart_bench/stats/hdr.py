"""HDR histograms with the run folder's settings, and the one percentile implementation.

Histograms record integer microseconds from 1 µs to 1 hour with 3 significant figures,
so any percentile is within 0.1% of the exact sample. :func:`values_at_percentiles` is
the only place percentiles are computed; :func:`hist_stats` summarises a histogram in
milliseconds. numpy is imported inside the functions that use it, and not at all by
what a run does while it measures (:func:`record_values`, :func:`add_histogram`, and
:func:`values_at_percentiles` while numpy is not loaded): it would add ~11 MiB to the
load generator's resident memory.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from ctypes import addressof
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from hdrh.codec import HdrCookieException, HdrHistogramSettingsException, HdrLengthException
from hdrh.histogram import HdrHistogram
from pyhdrh import add_array  # hdrh's C extension: dst[i] += src[i] over n counters

if TYPE_CHECKING:
    import numpy as np


HDR_LOWEST_US = 1
HDR_HIGHEST_US = 3_600_000_000
HDR_SIGNIFICANT_FIGURES = 3
SUMMARY_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50_ms", 50.0),
    ("p90_ms", 90.0),
    ("p95_ms", 95.0),
    ("p99_ms", 99.0),
    ("p999_ms", 99.9),
)


def new_histogram() -> HdrHistogram:
    """An empty histogram with the run-folder settings (1 µs .. 1 h, 3 significant figures)."""
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_SIGNIFICANT_FIGURES)


def to_us(response_time_ms: float) -> int:
    """A response time in ms as the integer µs a histogram records: ``max(1, round(ms * 1000))``.

    Values above the histogram's range are clamped to :data:`HDR_HIGHEST_US`.
    """
    us = round(response_time_ms * 1000)
    if us < 1:
        return 1
    if us > HDR_HIGHEST_US:
        return HDR_HIGHEST_US
    return int(us)


def encode_histogram(hist: HdrHistogram) -> str:
    """The standard base64 "compressed" HdrHistogram encoding, as text."""
    encoded = hist.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else encoded


class BadHistogram(ValueError):
    """An encoded histogram that does not decode (bad base64, zlib, header or counts)."""


#: What hdrh's decoder raises on bytes that are not a histogram (it validates little).
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # binascii.Error is one
    TypeError,
    IndexError,
    OverflowError,
    MemoryError,
    zlib.error,
    struct.error,
    HdrCookieException,
    HdrLengthException,
    HdrHistogramSettingsException,
)


def decode_histogram(encoded: str) -> HdrHistogram:
    """Decode :func:`encode_histogram` output (or any V2 base64 HdrHistogram).

    Raises :class:`BadHistogram` (a ValueError) when ``encoded`` is not one.
    """
    if not isinstance(encoded, str | bytes):
        raise BadHistogram(f"expected a base64 string, got {type(encoded).__name__}")
    try:
        hist = HdrHistogram.decode(encoded)
    except _DECODE_ERRORS as exc:
        raise BadHistogram(f"not a valid encoded histogram ({type(exc).__name__}: {exc})") from None
    if hist is None or hist.get_total_count() < 0:
        raise BadHistogram("not a valid encoded histogram (negative count)")
    return hist


def record_values(hist: HdrHistogram, values: Sequence[int]) -> None:
    """Record many values (integer µs, each within ``[0, hist.highest_trackable_value]``)
    at once: exactly what ``hist.record_value(v)`` for each would record, with hdrh's
    index arithmetic inlined (~0.3 µs a value instead of ~2.5 µs).

    ``values``: a list, an ``array('q')``, any sequence of ints.
    """
    if not len(values):
        return
    counts = hist.counts
    mask = hist.sub_bucket_mask
    unit = hist.unit_magnitude
    half_mag = hist.sub_bucket_half_count_magnitude
    below = unit + half_mag + 1
    half = hist.sub_bucket_half_count
    for value in values:  # hdrh's _counts_index_for
        bucket = (value | mask).bit_length() - below
        counts[((bucket + 1) << half_mag) + (value >> (bucket + unit)) - half] += 1
    hist.total_count += len(values)
    hist.min_value = min(hist.min_value, min(values))
    hist.max_value = max(hist.max_value, max(values))


def _same_layout(a: HdrHistogram, b: HdrHistogram) -> bool:
    return (
        a.counts_len == b.counts_len
        and a.unit_magnitude == b.unit_magnitude
        and a.sub_bucket_count == b.sub_bucket_count
        and a.word_size == b.word_size
    )


def add_histogram(into: HdrHistogram, other: HdrHistogram) -> None:
    """``into += other``, exactly. Adding an empty histogram is a no-op.

    (hdrh's ``add`` would reset ``into``'s minimum to 0 when ``other`` is empty.) Two
    histograms of the same layout (all of bench's) are added over ``other``'s occupied
    buckets only — a one-second window uses a few hundred of the 23,552, and hdrh's
    ``add`` walks them all (~50 µs).
    """
    if not other.get_total_count():
        return
    if not _same_layout(into, other) or other.max_value > into.highest_trackable_value:
        into.add(other)
        return
    first, last = _span(other)
    size = into.word_size
    add_array(
        addressof(into.counts) + first * size,
        addressof(other.counts) + first * size,
        last - first + 1,
        size,
    )
    into.total_count += other.get_total_count()
    into.max_value = max(into.max_value, other.get_max_value())
    into.min_value = min(into.get_min_value(), other.get_min_value())
    into.start_time_stamp_msec = min(into.start_time_stamp_msec, other.start_time_stamp_msec)
    into.end_time_stamp_msec = max(into.end_time_stamp_msec, other.end_time_stamp_msec)


def release_histogram(hist: HdrHistogram) -> None:
    """Free ``hist``'s ~188 KB counts array now rather than at the next full GC.

    hdrh histograms and their encoders reference each other (a cycle), so a dropped
    histogram waits for the cyclic garbage collector; breaking the cycle lets
    reference counting free it at once. Do not use ``hist`` afterwards.
    """
    encoder = getattr(hist, "encoder", None)
    if encoder is not None:
        encoder.histogram = None


def _span(hist: HdrHistogram) -> tuple[int, int]:
    """(first, last) index of the occupied buckets of a non-empty histogram."""
    first = 0 if hist.counts[0] else hist.get_counts_array_index(max(hist.min_value, 0))
    return first, hist.get_counts_array_index(hist.max_value)


def _values_at_percentiles_py(hist: HdrHistogram, percentiles: Sequence[float]) -> list[int]:
    """:func:`values_at_percentiles` without numpy (while a run measures)."""
    if not hist.get_total_count():
        return [0 for _ in percentiles]
    first, last = _span(hist)
    cumulative = list(accumulate(hist.counts[first : last + 1]))
    total = cumulative[-1]
    if not total:
        return [0 for _ in percentiles]
    out = []
    for p in percentiles:
        target = max(int(min(p, 100.0) * total / 100 + 0.5), 1)
        index = first + min(bisect_left(cumulative, target), len(cumulative) - 1)
        low = hist.get_value_from_index(index)
        out.append(int(low) if p == 0 else int(hist.get_highest_equivalent_value(low)))
    return out


@dataclass(frozen=True)
class CountsSpan:
    """A histogram's occupied buckets, compact: a one-second histogram kept so takes a
    few KiB instead of its 184 KiB counts array (see :func:`counts_span`)."""

    first: int
    counts: array[int]  # array("Q")
    total: int
    min_value: int
    max_value: int


def counts_span(hist: HdrHistogram) -> CountsSpan | None:
    """``hist``'s occupied buckets (None for an empty histogram); :func:`add_span` adds
    them back into a histogram of the same layout, exactly."""
    if not hist.get_total_count():
        return None
    first, last = _span(hist)
    return CountsSpan(
        first, array("Q", hist.counts[first : last + 1]), hist.total_count,
        hist.get_min_value(), hist.get_max_value(),
    )  # fmt: skip


def add_span(into: HdrHistogram, span: CountsSpan | None) -> None:
    """``into += `` the histogram ``span`` was taken from (same layout: bench's)."""
    if span is None:
        return
    size = into.word_size
    address, length = span.counts.buffer_info()
    add_array(addressof(into.counts) + span.first * size, address, length, size)
    into.total_count += span.total
    into.min_value = min(into.min_value, span.min_value)
    into.max_value = max(into.max_value, span.max_value)


def values_at_percentiles(hist: HdrHistogram, percentiles: Sequence[float]) -> list[int]:
    """The values (µs) at ``percentiles`` of ``hist``, in one vectorised pass.

    The one percentile implementation of the package (summary.json, time series,
    levels, the report and the gate all use it). Same convention as hdrh's
    ``get_value_at_percentile``: the target rank is ``max(1, int(p * count / 100 +
    0.5))`` and the value returned is the highest value equivalent to (in the same HDR
    bucket as) the sample at that rank — at most 0.1% above it with 3 significant
    figures; ``p = 0`` gives the lowest value of the first bucket. An empty histogram
    gives 0 for every percentile. Clamp with :func:`clamp_us` where the exact minimum
    and maximum are known. While numpy is not loaded (a run measuring), the same values
    come from a plain-Python walk of the occupied buckets.
    """
    if "numpy" not in sys.modules:
        return _values_at_percentiles_py(hist, percentiles)
    import numpy as np

    first, counts, low, high, _mid = _occupied(hist)
    total = int(counts.sum())
    if not total:
        return [0 for _ in percentiles]
    cumulative = np.cumsum(counts)
    targets = [max(int(min(p, 100.0) * total / 100 + 0.5), 1) for p in percentiles]
    positions = np.minimum(np.searchsorted(cumulative, targets), len(counts) - 1)
    return [
        int(low[first + i]) if p == 0 else int(high[first + i])
        for p, i in zip(percentiles, positions.tolist(), strict=True)
    ]


def histogram_counts(hist: HdrHistogram) -> list[int]:
    """The bucket counts up to the highest non-empty one (for exact equality checks)."""
    if not hist.get_total_count():
        return []
    return list(hist.counts[: hist.get_counts_array_index(hist.max_value) + 1])


def clamp_us(value: int, min_us: int, max_us: int) -> int:
    """An HDR percentile clamped to the exact [min, max] of the recorded values."""
    return min(max(value, min_us), max_us)


PERCENTILE_OF = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}


@dataclass(frozen=True)
class HistStats:
    """Exact statistics of one HDR histogram (µs inside, milliseconds here)."""

    count: int
    min_ms: float | None = None
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None

    def get(self, metric: str) -> float | None:
        """The value of a latency metric name such as ``"p95_ms"``."""
        return getattr(self, metric, None)


@lru_cache(maxsize=8)
def _index_values(counts_len: int, half_mag: int, unit_mag: int) -> tuple[Any, Any, Any]:
    import numpy as np

    half = 1 << half_mag
    idx = np.arange(counts_len, dtype=np.int64)
    bucket = (idx >> half_mag) - 1
    sub = (idx & (half - 1)) + half
    low_bucket = bucket < 0
    sub[low_bucket] -= half
    bucket[low_bucket] = 0
    low = sub << (bucket + unit_mag)
    size = np.left_shift(np.int64(1), bucket + unit_mag)
    return low, low + size - 1, low + (size >> 1)


def _arrays(h: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(counts, bucket low, high and mid values) over the whole counts array."""
    import numpy as np

    counts = np.ctypeslib.as_array(h.counts)[: h.counts_len].astype(np.int64)
    low, high, mid = _index_values(
        h.counts_len, h.sub_bucket_half_count_magnitude, h.unit_magnitude
    )
    return counts, low, high, mid


def _occupied(h: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(first index, counts from it to the highest occupied bucket, and the layout's
    low / high / mid value tables): only the occupied span is copied, so a one-second
    window with a few hundred buckets in use costs microseconds."""
    import numpy as np

    low, high, mid = _index_values(
        h.counts_len, h.sub_bucket_half_count_magnitude, h.unit_magnitude
    )
    if not h.get_total_count():
        return 0, np.zeros(0, dtype=np.int64), low, high, mid
    first = h.get_counts_array_index(max(h.min_value, 0))
    last = h.get_counts_array_index(h.max_value)
    if h.counts[0]:
        first = 0
    counts = np.ctypeslib.as_array(h.counts)[first : last + 1].astype(np.int64)
    return first, counts, low, high, mid


def hist_stats(h: Any) -> HistStats:
    """Count, min, mean, p50..p99.9 and max of an HdrHistogram (ms).

    Percentiles from :func:`values_at_percentiles`; min and max are the edges of the
    lowest and highest occupied buckets and the mean uses bucket midpoints (within
    0.1%: a histogram does not keep the exact values).
    """
    first, counts, low, high, mid = _occupied(h)
    total = int(counts.sum())
    if total == 0:
        return HistStats(count=0)
    values = values_at_percentiles(h, list(PERCENTILE_OF.values()))
    occupied = counts.nonzero()[0]
    return HistStats(
        count=total,
        min_ms=float(low[first + occupied[0]]) / 1000,
        mean_ms=float((counts * mid[first : first + len(counts)]).sum()) / total / 1000,
        max_ms=float(high[first + occupied[-1]]) / 1000,
        **{metric: v / 1000 for metric, v in zip(PERCENTILE_OF, values, strict=True)},
    )


def percentile_spectrum(h: Any, *, points: int = 120) -> list[tuple[float, float]]:
    """(percentile, ms) pairs from p0 to the max, spaced evenly in log(1/(1-p))."""
    import numpy as np

    counts, _low, high, _mid = _arrays(h)
    total = int(counts.sum())
    if total == 0:
        return []
    cum = np.cumsum(counts)
    top = 1 - 1 / total if total > 1 else 0.5
    qs = 1 - np.logspace(0, np.log10(max(1 - top, 1e-7)), points)
    qs = np.unique(np.concatenate([qs, [0.5, 0.9, 0.99, 0.999]]))
    qs = qs[qs <= top]
    targets = np.maximum(1, (qs * total + 0.5).astype(np.int64))
    values = high[np.searchsorted(cum, targets)] / 1000
    out = [(float(q * 100), float(v)) for q, v in zip(qs, values, strict=True)]
    out.append((100.0, float(high[np.flatnonzero(counts)[-1]]) / 1000))
    return out
