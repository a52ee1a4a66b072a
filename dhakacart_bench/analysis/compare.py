"""Run-to-run comparison: per-endpoint changes between a baseline run and a run, judged
with the gate's statistics.

Two runs of the same scenario never measure the same numbers: a change counts as
**worse** or **better** only when its interval excludes "no change". Latency
percentiles (p50, p95, p99) use the gate's block bootstrap of the percentile ratio
(:func:`~dhakacart_bench.stats.bootstrap.compare_p95` on both runs' blocks of
per-second HDR histograms); throughput and error rate the same resampling of blocks of
seconds (:func:`~dhakacart_bench.stats.rates.compare_rates`). Small samples are not
judged at all: a percentile needs :func:`min_requests_for` requests in each run ("too
few requests"). The interval is always shown beside the verdict (docs/reports.md,
"Comparing two runs").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.blocks import run_blocks
from dhakacart_bench.analysis.slos import fmt_value
from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.humanize import pct_change, signed_change
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.scenario.metrics import METRIC_LABEL
from dhakacart_bench.settings import default
from dhakacart_bench.stats.blocks import block_seconds
from dhakacart_bench.stats.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    compare_p95,
)
from dhakacart_bench.stats.rates import compare_rates

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.meta import EndpointSummary
    from dhakacart_bench.runfolder.reader import Run
    from dhakacart_bench.stats.blocks import SparseBlocks


COMPARED = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rps")
PERCENTILE_OF = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}
#: Fewest requests to an endpoint (in either run) for any of its metrics to be judged.
DEFAULT_MIN_REQUESTS: int = default("min_endpoint_requests")
#: A percentile is judged only with this many requests beyond it in each run.
TAIL_REQUESTS = 5
#: Fewest blocks (seconds with requests) in either run for a bootstrap.
MIN_BLOCKS = 5
#: Resamples in each tail of an interval, at least (so a 99.7% interval is not 3 draws).
TAIL_RESAMPLES = 5

WORSE, BETTER = "worse", "better"
NO_CHANGE = "no significant change"
TOO_FEW = "too few requests"
NOT_COMPARED = "not compared"


def fmt_confidence(confidence: float) -> str:
    """``90%``, ``99.7%``, ``99.96%``: as many digits as it takes not to read 100%."""
    tail = 100 - confidence * 100
    digits = 0 if tail <= 0 else min(3, max(0, -math.floor(math.log10(tail))))
    return f"{confidence * 100:.{digits}f}%"


def min_requests_for(metric: str, floor: int = DEFAULT_MIN_REQUESTS) -> int:
    """Requests each run needs before ``metric`` is judged: ``floor``, and for a
    percentile q at least :data:`TAIL_REQUESTS` requests beyond it (p95: 100, p99: 500)."""
    q = PERCENTILE_OF.get(metric)
    if q is None:
        return floor
    return max(floor, math.ceil(TAIL_REQUESTS / (1 - q / 100)))


@dataclass(frozen=True)
class Change:
    """One metric of one endpoint, baseline against run, and how it is judged."""

    endpoint: str
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None
    delta_pct: float | None
    worse: bool
    """The change is judged worse (its interval excludes no change)."""
    score: float
    judgement: str = NOT_COMPARED
    """worse / better / no significant change / too few requests / not compared."""
    low: float | None = None
    high: float | None = None
    """The interval: of the ratio run / baseline, or (error rate) of the difference."""
    confidence: float | None = None

    @property
    def better(self) -> bool:
        """The change is judged better (its interval excludes no change)."""
        return self.judgement == BETTER

    @property
    def significant(self) -> bool:
        """Worse or better: the interval excludes no change."""
        return self.judgement in (WORSE, BETTER)

    @property
    def direction(self) -> str:
        """``up``, ``down`` or ``flat``: which way the number moved."""
        if self.delta is None or self.delta == 0:
            return "flat"
        return "up" if self.delta > 0 else "down"

    @property
    def arrow(self) -> str:
        """▲ up, ▼ down, = flat: always the way the number moved."""
        return {"up": "▲", "down": "▼"}.get(self.direction, "=")

    @property
    def interval_text(self) -> str | None:
        """``90% interval +3.1% … +21.0%`` (error rate: in percentage points)."""
        if self.low is None or self.high is None or self.confidence is None:
            return None
        level = fmt_confidence(self.confidence)
        if self.metric == "error_rate":
            return f"{level} interval {self.low * 100:+.2f} … {self.high * 100:+.2f} points"
        return f"{level} interval {pct_change(self.low)} … {pct_change(self.high)}"

    @property
    def text(self) -> str:
        """``GET /api/products p95 up 42% (120 ms → 170 ms), 90% interval +30% … +55%``."""
        label = METRIC_LABEL.get(self.metric, self.metric)
        before, after = fmt_value(self.metric, self.baseline), fmt_value(self.metric, self.current)
        if self.metric == "error_rate" and self.delta is not None:
            amount = f"{abs(self.delta) * 100:.2f} points"
        elif self.delta_pct is not None:
            amount = signed_change(self.delta_pct).lstrip("+-")
        else:
            amount = ""
        way = "changed" if self.direction == "flat" and self.delta is None else self.direction
        if way == "flat":
            way, amount = "unchanged", ""
        text = f"{self.endpoint} {label} {way} {amount} ({before} → {after})".replace("  ", " ")
        interval = self.interval_text
        return f"{text}, {interval}" if interval else text


@dataclass(frozen=True)
class Comparison:
    """Per-endpoint changes between a baseline and a run, and the biggest significant ones."""

    baseline_id: str
    run_id: str
    rows: tuple[dict[str, Any], ...]
    top_changes: tuple[Change, ...]
    confidence: float = DEFAULT_CONFIDENCE
    """The confidence that all the judged changes' intervals hold together."""
    tests: int = 0
    """How many changes were judged with an interval."""
    method: str = ""

    @property
    def unchanged(self) -> bool:
        """No metric of any endpoint changed beyond the noise."""
        return not any(c.significant for r in self.rows for c in r["changes"].values())


def _metric_of(row: EndpointSummary | None, metric: str) -> float | None:
    if row is None or not row.count:
        return None
    if metric == "error_rate":
        return row.failures / row.count
    return row.get(metric)


def _plain(endpoint: str, metric: str, before: float | None, after: float | None) -> Change:
    """The change as measured, not yet judged."""
    if before is None or after is None:
        return Change(endpoint, metric, before, after, None, None, False, 0.0)
    delta = after - before
    pct = delta / before * 100 if before else None
    return Change(endpoint, metric, before, after, delta, pct, False, 0.0)


def _judged(change: Change, judgement: str, low: float, high: float, confidence: float) -> Change:
    """``change`` with its judgement and interval, scored for ranking."""
    if change.metric == "error_rate":
        # one percentage point of errors weighs like a 100% latency change
        score = abs(change.delta or 0.0) * 10_000
    else:
        ratio = (change.current or 0.0) / change.baseline if change.baseline else 1.0
        score = abs(ratio - 1) * 100
    significant = judgement in (WORSE, BETTER)
    return replace(
        change,
        judgement=judgement,
        worse=judgement == WORSE,
        score=score if significant else 0.0,
        low=low,
        high=high,
        confidence=confidence,
    )


def _decide(metric: str, low: float, high: float, no_change: float) -> str:
    """worse / better / no significant change, from an interval of the change."""
    if low <= no_change <= high:
        return NO_CHANGE
    up = low > no_change
    bad_when_up = metric != "rps"  # more throughput is better; more latency or errors worse
    return WORSE if up == bad_when_up else BETTER


def _per_second(run: Run) -> dict[str, list[tuple[float, float]]]:
    """(requests, failures) of every second of the run, per endpoint and for ``"*"``."""
    series = run.timeseries()
    seconds = [int(s) for s in series["second"]]
    first = min(seconds, default=0)
    span = (max(seconds, default=0) - first + 1) if seconds else 0
    out: dict[str, list[tuple[float, float]]] = {}
    total = [(0.0, 0.0)] * span
    for s, req, fail in zip(seconds, series["requests"], series["failures"], strict=True):
        total[s - first] = (float(req or 0), float(fail or 0))
    out[TOTAL] = total
    try:
        per_endpoint = run.endpoint_timeseries()
    except RunFolderError:
        return out
    for name, rows in per_endpoint.groupby("endpoint"):
        values = [(0.0, 0.0)] * span
        for s, req, fail in zip(rows["second"], rows["requests"], rows["failures"], strict=True):
            index = int(s) - first
            if 0 <= index < span:
                values[index] = (float(req), float(fail))
        out[str(name)] = values
    return out


class _Judge:
    """Judges each metric of each endpoint with the bootstraps; holds both runs' blocks."""

    def __init__(
        self, baseline: Run, run: Run, endpoints: list[str], *, resamples: int, seed: int
    ) -> None:
        self.resamples, self.seed = resamples, seed
        self.blocks_a = run_blocks(baseline, endpoints)
        self.blocks_b = run_blocks(run, endpoints)
        self.seconds_a, self.seconds_b = _per_second(baseline), _per_second(run)

    def latency(self, change: Change, number: int, confidence: float) -> Change:
        endpoint = change.endpoint
        a: SparseBlocks | None = self.blocks_a.get(endpoint)
        b: SparseBlocks | None = self.blocks_b.get(endpoint)
        if a is None or b is None or min(len(a.blocks), len(b.blocks)) < MIN_BLOCKS:
            return _too_few(change)
        q = PERCENTILE_OF[change.metric]
        stats = compare_p95(
            b,
            a,
            run_p95_ms=change.current or 0.0,
            baseline_p95_ms=change.baseline or 0.0,
            percentile=q,
            resamples=self.resamples,
            confidence=confidence,
            seed=self.seed + number,
        )
        judgement = _decide(change.metric, stats.ci_low, stats.ci_high, 1.0)
        return _judged(change, judgement, stats.ci_low, stats.ci_high, confidence)

    def rate(self, change: Change, number: int, confidence: float) -> Change:
        a, b = self.seconds_a.get(change.endpoint), self.seconds_b.get(change.endpoint)
        if not a or not b or min(len(a), len(b)) < MIN_BLOCKS:
            return _too_few(change)
        if change.metric == "rps":
            a = [(req, 1.0) for req, _ in a]
            b = [(req, 1.0) for req, _ in b]
            kind = "ratio"
        else:
            a = [(fail, req) for req, fail in a]
            b = [(fail, req) for req, fail in b]
            kind = "difference"
        result = compare_rates(
            b,
            a,
            kind=kind,
            block_s=block_seconds(len(b)),
            baseline_block_s=block_seconds(len(a)),
            resamples=self.resamples,
            confidence=confidence,
            seed=self.seed + number,
        )
        judgement = _decide(change.metric, result.low, result.high, result.no_change)
        return _judged(change, judgement, result.low, result.high, confidence)


def _too_few(change: Change) -> Change:
    return replace(change, judgement=TOO_FEW)


def family_confidence(confidence: float, tests: int) -> float:
    """Each test's confidence so that ``tests`` intervals hold together with
    ``confidence`` (Bonferroni: 1 - (1 - confidence) / tests)."""
    return 1 - (1 - confidence) / max(1, tests)


def resamples_for(confidence: float, resamples: int) -> int:
    """Enough resamples that each tail of a ``confidence`` interval holds at least
    :data:`TAIL_RESAMPLES` of them (and never fewer than ``resamples``)."""
    return max(resamples, math.ceil(TAIL_RESAMPLES / ((1 - confidence) / 2)))


def compare_runs(
    baseline: Run,
    run: Run,
    *,
    top: int = 3,
    min_count: int = DEFAULT_MIN_REQUESTS,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Compare ``run`` with ``baseline`` per endpoint; rank the ``top`` biggest changes
    that are worse or better beyond the noise (see the module docstring).

    ``confidence`` holds for all the judged changes together: with m of them, each
    interval is a ``1 - (1 - confidence) / m`` interval (Bonferroni), so two runs of the
    same thing come out "worse" somewhere with at most ``1 - confidence`` chance — not
    once in ten metrics. Latency and throughput changes rank by their relative size,
    error-rate changes by percentage points (1 point ranks like a 100% latency change).
    The all-endpoints row is judged but never ranked. A metric with fewer than
    :func:`min_requests_for` requests (``min_count`` at least) in either run is "too few
    requests".
    """

    def rows_of(r: Run) -> dict[str, EndpointSummary]:
        return {row.name: row for row in (*r.summary.endpoints, r.summary.total)}

    a, b = rows_of(baseline), rows_of(run)
    names = sorted(set(a) | set(b), key=lambda e: (e != TOTAL, e))
    counts = {e: (a[e].count if e in a else 0, b[e].count if e in b else 0) for e in names}
    plain: dict[str, dict[str, Change]] = {}
    for endpoint in names:
        plain[endpoint] = {}
        for metric in COMPARED:
            change = _plain(endpoint, metric, _metric_of(a.get(endpoint), metric),
                            _metric_of(b.get(endpoint), metric))  # fmt: skip
            if change.delta is not None and min(counts[endpoint]) < min_requests_for(
                metric, min_count
            ):
                change = _too_few(change)
            elif metric == "error_rate" and change.baseline == change.current == 0:
                change = replace(change, judgement=NO_CHANGE)  # no errors on either side
            plain[endpoint][metric] = change
    to_judge = [c for changes in plain.values() for c in changes.values() if _judgeable(c)]
    each = family_confidence(confidence, len(to_judge))
    judged_names = sorted({c.endpoint for c in to_judge})
    judge = _Judge(baseline, run, judged_names, resamples=resamples_for(each, resamples), seed=seed)
    rows, ranked = [], []
    for number, endpoint in enumerate(names):
        changes = {}
        for offset, (metric, change) in enumerate(plain[endpoint].items()):
            if _judgeable(change):
                how = judge.latency if metric in PERCENTILE_OF else judge.rate
                change = how(change, number * len(COMPARED) + offset, each)
            changes[metric] = change
        rows.append(
            {
                "endpoint": endpoint,
                "count_baseline": counts[endpoint][0],
                "count": counts[endpoint][1],
                "changes": changes,
            }
        )
        if endpoint != TOTAL:
            ranked += [c for c in changes.values() if c.significant]
    ranked.sort(key=lambda c: (-c.score, c.endpoint, c.metric))
    return Comparison(
        baseline.run_id,
        run.run_id,
        tuple(rows),
        tuple(ranked[:top]),
        confidence=confidence,
        tests=len(to_judge),
        method=(
            f"block bootstrap, {judge.resamples:,} resamples: latency percentiles from"
            " per-block HDR histograms, throughput and error rate from blocks of seconds;"
            f" each interval at {fmt_confidence(each)} (Bonferroni)"
        ),
    )


def _judgeable(change: Change) -> bool:
    """Measured on both sides with enough requests: to be judged with an interval."""
    return change.delta is not None and change.judgement == NOT_COMPARED
