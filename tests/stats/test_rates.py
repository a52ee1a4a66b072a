"""The block bootstrap of throughput and error-rate changes."""

from __future__ import annotations

import numpy as np
import pytest

from dhakacart_bench.stats.rates import compare_rates


def _poisson(rate: float, seconds: int, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [(float(v), 1.0) for v in rng.poisson(rate, seconds)]


def test_same_throughput_is_no_change() -> None:
    change = compare_rates(_poisson(100, 60, 1), _poisson(100, 60, 2))
    assert change.low < 1 < change.high and not change.significant
    assert change.estimate == pytest.approx(1.0, abs=0.05)


def test_more_throughput_is_significant() -> None:
    change = compare_rates(_poisson(130, 60, 1), _poisson(100, 60, 2))
    assert change.significant and change.low > 1.2
    assert change.run == pytest.approx(130, rel=0.05) and change.baseline == pytest.approx(
        100, rel=0.05
    )


def test_error_rate_difference() -> None:
    run = [(5.0, 100.0)] * 30  # 5% errors every second
    base = [(0.0, 100.0)] * 30
    change = compare_rates(run, base, kind="difference")
    assert change.estimate == pytest.approx(0.05) and change.low > 0 and change.significant
    none = compare_rates(base, base, kind="difference")
    assert (none.low, none.high) == (0.0, 0.0) and not none.significant


def test_blocks_keep_bursts_together() -> None:
    """One burst of errors: per-second resampling would call it certain; blocks of
    10 s see only 3 blocks and a wide interval."""
    burst = [(0.0, 100.0)] * 25 + [(50.0, 100.0)] * 5
    quiet = [(1.0, 100.0)] * 30
    wide = compare_rates(burst, quiet, kind="difference", block_s=10)
    narrow = compare_rates(burst, quiet, kind="difference", block_s=1)
    assert (wide.high - wide.low) > (narrow.high - narrow.low)
    assert wide.blocks_run == 3 and narrow.blocks_run == 30


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        compare_rates([], [(1.0, 1.0)])
    with pytest.raises(ValueError):
        compare_rates([(1.0, 1.0)], [(1.0, 1.0)], kind="log")
