"""The block bootstrap of a rate: throughput or error rate, run against baseline.

The latencies of two runs are compared by :func:`~dhakacart_bench.stats.bootstrap.
compare_p95` (per-block HDR histograms resampled). Rates need the same treatment: a
rate is ``Σ numerator / Σ denominator`` over the seconds of a run — requests per second
(numerator = requests, denominator = 1 per second), or the error rate (failures ÷
requests). Failures and slow seconds come in bursts, so seconds are not independent:
consecutive seconds are grouped into blocks and the blocks are resampled with
replacement, independently for the two runs, as the gate does for p95.

:func:`compare_rates` gives the point estimate and the central ``confidence`` interval
of the run's rate as a ratio to the baseline's (``kind="ratio"``) or as a difference
(``kind="difference"``: error rates, where the baseline's may be zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhakacart_bench.stats.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED

if TYPE_CHECKING:
    import numpy as np

KINDS = ("ratio", "difference")


@dataclass(frozen=True)
class RateChange:
    """A rate of the run against the baseline's: the point estimate and its interval."""

    kind: str  # "ratio" | "difference"
    baseline: float
    run: float
    estimate: float
    low: float
    high: float
    confidence: float
    blocks_baseline: int
    blocks_run: int

    @property
    def no_change(self) -> float:
        """The value of ``estimate`` that means "no change" (1 for a ratio, 0 else)."""
        return 1.0 if self.kind == "ratio" else 0.0

    @property
    def significant(self) -> bool:
        """The interval excludes "no change"."""
        return self.low > self.no_change or self.high < self.no_change


def _blocks(series: Sequence[tuple[float, float]], block_s: int) -> np.ndarray:
    """(numerator, denominator) per block of ``block_s`` consecutive seconds."""
    import numpy as np

    values = np.asarray(series, dtype=np.float64).reshape(-1, 2)
    count = -(-len(values) // block_s)
    out = np.zeros((count, 2), dtype=np.float64)
    np.add.at(out, np.arange(len(values)) // block_s, values)
    return out


def _resampled(blocks: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """``resamples`` bootstrap values of Σ numerator / Σ denominator."""
    import numpy as np

    n = len(blocks)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    sums = weights @ blocks
    return np.divide(sums[:, 0], sums[:, 1], out=np.zeros(resamples), where=sums[:, 1] > 0)


def compare_rates(
    run: Sequence[tuple[float, float]],
    baseline: Sequence[tuple[float, float]],
    *,
    kind: str = "ratio",
    block_s: int = 1,
    baseline_block_s: int | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> RateChange:
    """Block bootstrap of the run's rate against the baseline's (see the module docstring).

    ``run`` and ``baseline`` hold one ``(numerator, denominator)`` per second (seconds
    without requests included: they are part of a throughput), cut into blocks of
    ``block_s`` (the baseline: ``baseline_block_s``, default the same) seconds.
    ValueError when either is empty or ``kind`` is unknown.
    """
    import numpy as np

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not run or not baseline:
        raise ValueError("both runs need at least one second to compare")
    theirs_s = block_s if baseline_block_s is None else baseline_block_s
    ours, theirs = _blocks(run, max(1, block_s)), _blocks(baseline, max(1, theirs_s))
    rng = np.random.default_rng(seed)
    a, b = _resampled(ours, rng, resamples), _resampled(theirs, rng, resamples)

    def rate(blocks: np.ndarray) -> float:
        den = float(blocks[:, 1].sum())
        return float(blocks[:, 0].sum()) / den if den > 0 else 0.0

    run_rate, base_rate = rate(ours), rate(theirs)
    if kind == "ratio":
        values = a / np.maximum(b, 1e-12)
        estimate = run_rate / base_rate if base_rate > 0 else float("inf")
    else:
        values = a - b
        estimate = run_rate - base_rate
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(values, [tail, 1 - tail]))
    return RateChange(
        kind=kind,
        baseline=base_rate,
        run=run_rate,
        estimate=estimate,
        low=low,
        high=high,
        confidence=confidence,
        blocks_baseline=len(theirs),
        blocks_run=len(ours),
    )
