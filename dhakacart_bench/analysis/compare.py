"""Run-to-run comparison: per-endpoint changes between a baseline run and a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dhakacart_bench.analysis.slos import fmt_value
from dhakacart_bench.humanize import signed_change
from dhakacart_bench.scenario.metrics import METRIC_LABEL

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.meta import EndpointSummary
    from dhakacart_bench.runfolder.reader import Run


COMPARED = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rps")


@dataclass(frozen=True)
class Change:
    """One metric of one endpoint, baseline against run."""

    endpoint: str
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None
    delta_pct: float | None
    worse: bool
    score: float

    @property
    def text(self) -> str:
        """``GET /api/products p95 up 42% (120 ms → 170 ms)``."""
        label = METRIC_LABEL.get(self.metric, self.metric)
        before, after = fmt_value(self.metric, self.baseline), fmt_value(self.metric, self.current)
        if self.metric == "error_rate" and self.delta is not None:
            way = "up" if self.delta > 0 else "down"
            amount = f"{abs(self.delta) * 100:.2f} points"
        elif self.delta_pct is not None:
            way = "up" if self.delta_pct > 0 else "down"
            amount = signed_change(self.delta_pct).lstrip("+-")
        else:
            way, amount = "changed", ""
        return f"{self.endpoint} {label} {way} {amount} ({before} → {after})".replace("  ", " ")


@dataclass(frozen=True)
class Comparison:
    """Per-endpoint deltas between a baseline and a run, and the biggest changes."""

    baseline_id: str
    run_id: str
    rows: tuple[dict[str, Any], ...]
    top_changes: tuple[Change, ...]


def _metric_of(row: EndpointSummary | None, metric: str) -> float | None:
    if row is None or not row.count:
        return None
    if metric == "error_rate":
        return row.failures / row.count
    return row.get(metric)


def _change(endpoint: str, metric: str, before: float | None, after: float | None) -> Change:
    if before is None or after is None:
        return Change(endpoint, metric, before, after, None, None, False, 0.0)
    delta = after - before
    pct = delta / before * 100 if before else None
    # one percentage point of errors weighs like a 100% latency change
    relative = abs(pct) if pct is not None else 0.0
    score = abs(delta) * 10_000 if metric == "error_rate" else relative
    worse = delta < 0 if metric == "rps" else delta > 0
    return Change(endpoint, metric, before, after, delta, pct, worse, score)


def compare_runs(baseline: Run, run: Run, *, top: int = 3, min_count: int = 20) -> Comparison:
    """Compare ``run`` with ``baseline`` per endpoint; rank the ``top`` biggest changes.

    Latency and throughput changes rank by their relative size, error-rate changes by
    percentage points (1 point ranks like a 100% latency change). The all-endpoints row
    and endpoints with fewer than ``min_count`` requests on either side are listed but
    never ranked.
    """

    def rows_of(r: Run) -> dict[str, EndpointSummary]:
        return {row.name: row for row in (*r.summary.endpoints, r.summary.total)}

    a, b = rows_of(baseline), rows_of(run)
    rows, ranked = [], []
    for endpoint in sorted(set(a) | set(b), key=lambda e: (e != "*", e)):
        changes = {
            m: _change(endpoint, m, _metric_of(a.get(endpoint), m), _metric_of(b.get(endpoint), m))
            for m in COMPARED
        }
        counts = (
            a[endpoint].count if endpoint in a else 0,
            b[endpoint].count if endpoint in b else 0,
        )
        rows.append(
            {
                "endpoint": endpoint,
                "count_baseline": counts[0],
                "count": counts[1],
                "changes": changes,
            }
        )
        if endpoint != "*" and min(counts) >= min_count:
            ranked += [c for c in changes.values() if c.score > 0]
    ranked.sort(key=lambda c: (-c.score, c.endpoint, c.metric))
    return Comparison(baseline.run_id, run.run_id, tuple(rows), tuple(ranked[:top]))
