"""The block bootstrap of a p95 ratio: is a run slower than its baseline beyond the noise?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.humanize import pct_change
from dhakacart_bench.settings import default
from dhakacart_bench.stats.hdr import new_histogram, release_histogram

if TYPE_CHECKING:
    import numpy as np

    from dhakacart_bench.stats.blocks import SparseBlocks


METHOD = "block bootstrap of the p95 ratio"
DEFAULT_RESAMPLES: int = default("resamples")
DEFAULT_CONFIDENCE: float = default("confidence")
DEFAULT_SEED = 20261124


@dataclass(frozen=True)
class RegressionStats:
    """The statistics behind one regression decision."""

    method: str
    percentile: float
    baseline_ms: float
    run_ms: float
    ratio: float
    """Point estimate: the run's p95 / the baseline's p95 (whole-run histograms)."""
    ci_low: float
    ci_high: float
    confidence: float
    """Two-sided coverage of [ci_low, ci_high] (0.90: the lower bound is one-sided 95%)."""
    noise_pct: float
    """Run-to-run noise: half the interval's width, in percent of the baseline."""
    resamples: int
    seed: int
    blocks_baseline: int
    blocks_run: int
    block_s_baseline: int
    block_s_run: int
    baseline_runs: int = 1
    between_run_pct: float | None = None
    """Spread (sd of log p95, in %) of the baseline's runs; None for a one-run baseline."""

    @property
    def change_pct(self) -> float:
        """The point estimate as a change in percent (``+12.5``)."""
        return (self.ratio - 1) * 100

    @property
    def interval_text(self) -> str:
        """``90% interval +3.1% … +21.0%``."""
        return (
            f"{self.confidence:.0%} interval {pct_change(self.ci_low)} … {pct_change(self.ci_high)}"
        )


def compare_p95(
    run: SparseBlocks,
    baseline: SparseBlocks,
    *,
    run_p95_ms: float,
    baseline_p95_ms: float,
    baseline_run_p95_ms: Sequence[float] = (),
    percentile: float = 95.0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> RegressionStats:
    """Block bootstrap of the ratio of ``percentile`` run / baseline.

    Each resample draws as many blocks as each run has, with replacement,
    independently for the two runs; merges the drawn blocks' HDR counts exactly;
    takes the percentile with the run-folder convention (rank ``int(p*n/100 + 0.5)``,
    the highest value of its bucket); and divides. The interval is the central
    ``confidence`` range of the ``resamples`` ratios. ``run_p95_ms`` /
    ``baseline_p95_ms`` (the whole-run values) give the point estimate.

    With the p95s of two or more baseline runs (``baseline_run_p95_ms``), each
    ratio is also multiplied by a random between-run factor: ``exp(s * t *
    sqrt(1 + 1/k))`` with ``s`` the sd of the runs' log p95, ``t`` Student's t with
    ``k - 1`` degrees of freedom (a prediction interval for one more run). This
    covers what within-run resampling cannot see: whole runs shifted by a busy
    host.
    """
    import numpy as np

    if run.counts_len != baseline.counts_len:
        raise ValueError("the run and the baseline use different histogram layouts")
    rng = np.random.default_rng(seed)
    union = np.unique(np.concatenate([idx for idx, _ in (*run.blocks, *baseline.blocks)]))
    values = bucket_values_ms(union)
    ours = _resampled_percentiles(run, union, values, rng, resamples, percentile)
    theirs = _resampled_percentiles(baseline, union, values, rng, resamples, percentile)
    ratios = ours / np.maximum(theirs, 1e-9)
    between: float | None = None
    k = len(baseline_run_p95_ms)
    if k >= 2:
        between = float(np.std(np.log(np.asarray(baseline_run_p95_ms, dtype=float)), ddof=1))
        ratios = ratios * np.exp(between * np.sqrt(1 + 1 / k) * rng.standard_t(k - 1, resamples))
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(ratios, [tail, 1 - tail]))
    ratio = run_p95_ms / baseline_p95_ms if baseline_p95_ms else float("inf")
    return RegressionStats(
        method=METHOD if k < 2 else f"{METHOD} + between-run spread of {k} baseline runs",
        percentile=percentile,
        baseline_ms=baseline_p95_ms,
        run_ms=run_p95_ms,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        noise_pct=(high - low) / 2 * 100,
        resamples=resamples,
        seed=seed,
        blocks_baseline=len(baseline.blocks),
        blocks_run=len(run.blocks),
        block_s_baseline=baseline.block_s,
        block_s_run=run.block_s,
        baseline_runs=max(k, 1),
        between_run_pct=None if between is None else between * 100,
    )


def bucket_values_ms(indices: np.ndarray) -> np.ndarray:
    """The highest value (ms) of each HDR bucket index, as hist_stats reports it."""
    import numpy as np

    template = new_histogram()
    out = np.array(
        [
            template.get_highest_equivalent_value(template.get_value_from_index(int(i)))
            for i in indices
        ],
        dtype=np.float64,
    )
    release_histogram(template)
    return out / 1000


def _resampled_percentiles(
    blocks: SparseBlocks,
    union: np.ndarray,
    values: np.ndarray,
    rng: np.random.Generator,
    resamples: int,
    percentile: float,
    chunk: int = 200,
) -> np.ndarray:
    """``resamples`` bootstrap values of ``percentile`` over ``blocks``."""
    import numpy as np

    n = len(blocks.blocks)
    matrix = np.zeros((n, len(union)), dtype=np.float64)
    for row, (idx, cnt) in enumerate(blocks.blocks):
        matrix[row, np.searchsorted(union, idx)] = cnt
    out = np.empty(resamples, dtype=np.float64)
    probabilities = np.full(n, 1.0 / n)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        weights = rng.multinomial(n, probabilities, size=size).astype(np.float64)
        out[start : start + size] = weighted_percentiles(weights, matrix, values, percentile)
    return out


def weighted_percentiles(
    weights: np.ndarray, matrix: np.ndarray, values: np.ndarray, percentile: float
) -> np.ndarray:
    """``percentile`` of each weighted sum of ``matrix``'s rows (blocks x buckets).

    ``weights`` is resamples x blocks (how often each block was drawn); the percentile
    follows the run-folder convention (rank ``int(p*n/100 + 0.5)``, the value of the
    bucket holding that rank, ``values[bucket]``).
    """
    import numpy as np

    cumulative = np.cumsum(weights @ matrix, axis=1)
    total = cumulative[:, -1]
    target = np.maximum(1.0, np.floor(percentile * total / 100 + 0.5))
    position = (cumulative < target[:, None]).sum(axis=1)
    return values[np.minimum(position, len(values) - 1)]
