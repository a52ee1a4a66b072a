"""The paired block bootstrap: candidate vs baseline measured at the same time.

Two arms of an A/B run share every second: the same machine, the same moments, the same
generator. Resampling *the same* seconds for both arms keeps what they share — a busy
neighbour, a GC pause in the generator, a slow disk — in both halves of every resample,
so it cancels in the ratio; only the difference between the arms is left to vary.

Inputs are plain: per arm, ``{second: Cell}`` (one endpoint's sparse HDR counts and
failures in that second). :func:`paired_compare` gives the p95 ratio candidate /
baseline with an interval, and the error-rate difference with its own, at a caller's
``z`` (the sequential gate picks ``z`` from its alpha-spending schedule, see
:mod:`dhakacart_bench.stats.sequential`).

The interval is the *normal* bootstrap interval on the log scale: the resamples give
the standard error of ``log(p95 ratio)``, and the interval is ``log(point) ± z·se``.
It reaches the far tails a split alpha asks for (z ≈ 3) from a few hundred resamples,
where quantiles of the resamples would need tens of thousands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.stats.blocks import merge_sparse
from dhakacart_bench.stats.bootstrap import bucket_values_ms, weighted_percentiles
from dhakacart_bench.stats.spread import with_spread

if TYPE_CHECKING:
    import numpy as np

PAIRED_METHOD = "paired block bootstrap over shared seconds (normal interval of log p95 ratio)"
DEFAULT_PAIRED_SEED = 20261201
#: Percentile below which buckets are merged into one column — of the *faster* arm, so
#: every percentile at or above it is unchanged in both arms (a cut at the pooled median
#: put a fast baseline wholly below it when the candidate was several times slower, and
#: read the baseline's p95 as the cut's value), and the resampling matrix is narrower.
_POOL_BELOW_PCT = 50.0


@dataclass(frozen=True)
class Cell:
    """One endpoint in one second of one arm: sparse HDR counts and failed requests."""

    idx: np.ndarray
    cnt: np.ndarray
    failures: int = 0

    @property
    def requests(self) -> int:
        return int(self.cnt.sum())


@dataclass(frozen=True)
class PairedStats:
    """One paired comparison: p95 ratio and error-rate difference, with intervals."""

    percentile: float
    candidate_ms: float
    baseline_ms: float
    ratio: float
    ci_low: float
    ci_high: float
    se_log: float  # of log(ratio), the interval's: within the run and between instances
    z: float
    seconds: int
    block_s: int
    requests_candidate: int
    requests_baseline: int
    error_rate_candidate: float
    error_rate_baseline: float
    error_diff: float
    error_low: float
    error_high: float
    resamples: int
    seed: int
    se_within: float = math.nan  # the paired bootstrap's own: the noise within this run
    spread: float = 0.0  # the between-instance spread added (stats/spread.py)

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1) * 100

    @property
    def confidence(self) -> float:
        """Two-sided coverage of the interval at this look."""
        return 2 * _normal_cdf(self.z) - 1


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def shared_blocks(
    candidate: Mapping[int, Cell], baseline: Mapping[int, Cell], block_s: int = 1
) -> tuple[list[tuple[Cell, Cell]], int]:
    """The seconds where both arms have requests, cut into ``block_s`` blocks of
    calendar seconds; each block merged per arm. Returns (blocks, shared seconds)."""
    shared = sorted(s for s in candidate if s in baseline)
    shared = [s for s in shared if candidate[s].requests and baseline[s].requests]
    grouped: dict[int, list[int]] = {}
    for second in shared:
        grouped.setdefault(second // max(1, block_s), []).append(second)
    blocks = []
    for seconds in grouped.values():
        blocks.append(
            (
                _merge_cells([candidate[s] for s in seconds]),
                _merge_cells([baseline[s] for s in seconds]),
            )
        )
    return blocks, len(shared)


def _merge_cells(cells: Sequence[Cell]) -> Cell:
    idx, cnt = merge_sparse([(c.idx, c.cnt) for c in cells])
    return Cell(idx, cnt, sum(c.failures for c in cells))


def _matrices(
    blocks: Sequence[tuple[Cell, Cell]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate matrix, baseline matrix, bucket values in ms): blocks x buckets, with
    every bucket below the faster arm's median merged into the first column."""
    import numpy as np

    union = np.unique(np.concatenate([c.idx for pair in blocks for c in pair]))
    mats = []
    cuts = []
    for arm in (0, 1):
        matrix = np.zeros((len(blocks), len(union)), dtype=np.float64)
        for row, pair in enumerate(blocks):
            cell = pair[arm]
            matrix[row, np.searchsorted(union, cell.idx)] = cell.cnt
        mats.append(matrix)
        cumulative = np.cumsum(matrix.sum(axis=0))
        cuts.append(int(np.searchsorted(cumulative, cumulative[-1] * _POOL_BELOW_PCT / 100)))
    cut = min(cuts)
    values = bucket_values_ms(union[cut:])
    out = []
    for matrix in mats:
        merged = matrix[:, cut:].copy()
        merged[:, 0] += matrix[:, :cut].sum(axis=1)  # the cut bucket holds all below it
        out.append(merged)
    return out[0], out[1], values


def paired_compare(
    candidate: Mapping[int, Cell],
    baseline: Mapping[int, Cell],
    *,
    z: float,
    percentile: float = 95.0,
    resamples: int = 400,
    seed: int = DEFAULT_PAIRED_SEED,
    block_s: int = 1,
    spread: float = 0.0,
) -> PairedStats | None:
    """Paired comparison over the seconds both arms share; None without any.

    Each resample draws blocks with replacement and applies *the same* draw to both
    arms; the point estimates come from every shared second once. ``spread`` (log
    scale) is how far two identical instances differ for a whole run, which no
    resampling of one run's seconds sees (:mod:`dhakacart_bench.stats.spread`): it is
    added to the p95 ratio's standard error in quadrature.
    """
    import numpy as np

    blocks, seconds = shared_blocks(candidate, baseline, block_s)
    if not blocks:
        return None
    mat_c, mat_b, values = _matrices(blocks)
    n = len(blocks)
    ones = np.ones((1, n))
    cand_ms = float(weighted_percentiles(ones, mat_c, values, percentile)[0])
    base_ms = float(weighted_percentiles(ones, mat_b, values, percentile)[0])
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    log_ratios = np.log(
        weighted_percentiles(weights, mat_c, values, percentile)
        / np.maximum(weighted_percentiles(weights, mat_b, values, percentile), 1e-9)
    )
    se_within = float(np.std(log_ratios, ddof=1)) if n > 1 else math.inf
    se = with_spread(se_within, spread)
    ratio = cand_ms / base_ms if base_ms else math.inf
    log_point = math.log(ratio) if 0 < ratio < math.inf else 0.0
    low, high = (
        (math.exp(log_point - z * se), math.exp(log_point + z * se))
        if math.isfinite(se)
        else (0.0, math.inf)
    )

    fails = np.array([[p[0].failures, p[1].failures] for p in blocks], dtype=np.float64)
    reqs = np.array([[p[0].cnt.sum(), p[1].cnt.sum()] for p in blocks], dtype=np.float64)
    rate_c, rate_b = (float(fails[:, a].sum() / reqs[:, a].sum()) for a in (0, 1))
    diffs = (weights @ fails[:, 0]) / (weights @ reqs[:, 0]) - (weights @ fails[:, 1]) / (
        weights @ reqs[:, 1]
    )
    err_se = float(np.std(diffs, ddof=1)) if n > 1 else math.inf
    diff = rate_c - rate_b
    return PairedStats(
        percentile=percentile,
        candidate_ms=cand_ms,
        baseline_ms=base_ms,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        se_log=se,
        z=z,
        seconds=seconds,
        block_s=block_s,
        requests_candidate=int(reqs[:, 0].sum()),
        requests_baseline=int(reqs[:, 1].sum()),
        error_rate_candidate=rate_c,
        error_rate_baseline=rate_b,
        error_diff=diff,
        error_low=diff - z * err_se,
        error_high=diff + z * err_se,
        resamples=resamples,
        seed=seed,
        se_within=se_within,
        spread=spread,
    )
