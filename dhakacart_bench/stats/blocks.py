"""Blocks: a run's one-second windows cut into consecutive blocks of sparse HDR counts,
the unit the gate's bootstrap resamples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def _merge_sparse(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    if len(parts) == 1:
        return parts[0]
    idx = np.concatenate([p[0] for p in parts])
    cnt = np.concatenate([p[1] for p in parts])
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq, np.bincount(inverse, weights=cnt, minlength=len(uniq)).astype(np.int64)
