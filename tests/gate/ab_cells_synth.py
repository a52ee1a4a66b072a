"""Synthetic A/B cells: per-second latency samples for two arms, as HDR sparse counts."""

from __future__ import annotations

import numpy as np

from dhakacart_bench.gate.ab_cells import ArmCells
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.blocks import sparse_counts
from dhakacart_bench.stats.hdr import new_histogram, release_histogram, to_us
from dhakacart_bench.stats.paired import Cell


def cell(samples_ms: np.ndarray, failures: int = 0) -> Cell:
    hist = new_histogram()
    for value in samples_ms:
        hist.record_value(to_us(float(value)))
    idx, cnt = sparse_counts(hist)
    release_histogram(hist)
    return Cell(idx, cnt, failures)


def arms(
    *,
    seconds: int,
    per_second: int = 200,
    candidate_factor: float = 1.0,
    shared_slowdown: dict[int, float] | None = None,
    endpoints: dict[str, float] | None = None,
    factor_on: str | None = None,
    failure_rate: tuple[float, float] = (0.0, 0.0),
    seed: int = 1,
) -> tuple[ArmCells, ArmCells]:
    """Both arms' cells: lognormal latencies around each endpoint's median (ms); the
    candidate's multiplied by ``candidate_factor`` (only on ``factor_on`` when given);
    second s of *both* arms multiplied by ``shared_slowdown[s]``."""
    rng = np.random.default_rng(seed)
    endpoints = endpoints or {"GET /a": 5.0}
    out: list[ArmCells] = [{}, {}]
    for arm in (0, 1):
        for s in range(seconds):
            shared = (shared_slowdown or {}).get(s, 1.0)
            merged: list[np.ndarray] = []
            fails_total = 0
            for name, median in endpoints.items():
                factor = 1.0
                if arm == 0 and (factor_on is None or factor_on == name):
                    factor = candidate_factor
                samples = median * shared * factor * rng.lognormal(0.0, 0.4, per_second)
                fails = int(rng.binomial(per_second, failure_rate[arm]))
                out[arm].setdefault(name, {})[s] = cell(samples, fails)
                merged.append(samples)
                fails_total += fails
            out[arm].setdefault(TOTAL, {})[s] = cell(np.concatenate(merged), fails_total)
    return out[0], out[1]
