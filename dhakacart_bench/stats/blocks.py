"""Blocks: a run's one-second windows cut into consecutive blocks of sparse HDR counts,
the unit the gate's bootstrap resamples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.stats.hdr import release_histogram

if TYPE_CHECKING:
    import numpy as np
    from hdrh.histogram import HdrHistogram


MAX_BLOCKS = 120
"""Most blocks kept per endpoint: a one-hour run is cut into 30-second blocks."""


def block_seconds(span_s: int, max_blocks: int = MAX_BLOCKS) -> int:
    """The block length for a run of ``span_s`` seconds: 1 s, or longer to keep
    at most ``max_blocks`` blocks."""
    return max(1, math.ceil(max(span_s, 1) / max_blocks))


@dataclass(frozen=True)
class SparseBlocks:
    """One endpoint's blocks as sparse HDR counts (for fast resampling).

    ``blocks[i]`` is ``(bucket_indices, counts)`` of block i (numpy int64 arrays);
    every histogram has the run-folder settings, so indices line up across runs.
    """

    block_s: int
    counts_len: int
    blocks: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def count(self) -> int:
        """Requests in all blocks."""
        return int(sum(int(c.sum()) for _, c in self.blocks))


def sparse_counts(hist: HdrHistogram) -> tuple[np.ndarray, np.ndarray]:
    """(non-empty bucket indices, their counts) of one histogram."""
    import numpy as np

    counts = np.ctypeslib.as_array(hist.counts)[: hist.counts_len]
    nz = np.flatnonzero(counts)
    return nz.astype(np.int64), counts[nz].astype(np.int64)


def merge_sparse(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sparse HDR counts of several histograms (same layout) added together."""
    import numpy as np

    if len(parts) == 1:
        return parts[0]
    idx = np.concatenate([p[0] for p in parts])
    cnt = np.concatenate([p[1] for p in parts])
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq, np.bincount(inverse, weights=cnt, minlength=len(uniq)).astype(np.int64)


def blocks_of_windows(
    windows: Iterable[tuple[int, Mapping[str, HdrHistogram]]],
    endpoints: Iterable[str],
    *,
    max_blocks: int = MAX_BLOCKS,
    total: str = "*",
) -> dict[str, SparseBlocks]:
    """Cut ``(second, {endpoint: histogram})`` windows into blocks, per endpoint.

    Blocks are consecutive :func:`block_seconds` spans from the first window; a block
    without requests for an endpoint is left out of that endpoint's blocks. The
    endpoint named ``total`` is every endpoint merged. The windows' histograms are
    released as they are read. ValueError when they mix histogram layouts.
    """
    wanted = list(dict.fromkeys(endpoints))
    parts = _window_parts(windows, wanted, total)
    if not parts:
        return {e: SparseBlocks(1, 0, ()) for e in wanted}
    first = parts[0][0]
    span = parts[-1][0] - first + 1
    block_s = block_seconds(span, max_blocks)
    grouped: dict[str, dict[int, list[tuple[np.ndarray, np.ndarray]]]] = {e: {} for e in wanted}
    counts_len = 0
    for second, by_endpoint, length in parts:
        counts_len = counts_len or length
        if length != counts_len:
            raise ValueError("the windows mix histogram layouts")
        block = (second - first) // block_s
        for endpoint, part in by_endpoint.items():
            grouped[endpoint].setdefault(block, []).append(part)
    return {
        e: SparseBlocks(
            block_s,
            counts_len,
            tuple(merge_sparse(grouped[e][b]) for b in sorted(grouped[e])),
        )
        for e in wanted
    }


def _window_parts(
    windows: Iterable[tuple[int, Mapping[str, HdrHistogram]]], wanted: Sequence[str], total: str
) -> list[tuple[int, dict[str, tuple[np.ndarray, np.ndarray]], int]]:
    """(second, {endpoint: sparse counts}, counts_len) per window, for ``wanted`` endpoints."""
    out = []
    for second, hists in windows:
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        pieces = []
        length = 0
        for name, hist in hists.items():
            length = hist.counts_len
            if name in wanted or total in wanted:
                part = sparse_counts(hist)
                if name in wanted:
                    parts[name] = part
                if total in wanted:
                    pieces.append(part)
            release_histogram(hist)
        if pieces:
            parts[total] = merge_sparse(pieces)
        if parts:
            out.append((second, parts, length))
    return out
