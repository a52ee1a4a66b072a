"""From a run folder to answers: SLO results, a verdict, capacity and changes.

Plain functions over a :class:`~dhakacart_bench.runfolder.Run`, returning frozen
dataclasses; nothing here renders or writes. Every percentile comes from the run's
HDR histograms (merged exactly, never averaged). Capacity (load levels, the knee, the
USL fit) and the capacity plan live in :mod:`dhakacart_bench.planning`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from dhakacart_bench.runfolder import Run

PASS = "PASS"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"
DEFAULT_MIN_REQUESTS = 100
#: More users than planned by this factor means the load was not the plan.
OVERSHOOT_FACTOR = 1.05
"""Fewest requests for a verdict when the scenario's gate does not say."""
PERCENTILE_OF = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}
LATENCY_METRICS = (*PERCENTILE_OF, "max_ms", "mean_ms")
METRIC_LABEL = {
    "p50_ms": "p50",
    "p90_ms": "p90",
    "p95_ms": "p95",
    "p99_ms": "p99",
    "p999_ms": "p99.9",
    "max_ms": "max latency",
    "mean_ms": "mean latency",
    "error_rate": "error rate",
    "rps": "throughput",
    "invariants": "business invariants",
    "availability_pct": "availability",
    "deploy_failed_requests": "failed requests during deploys",
    "recovery_s": "recovery time",
    "longest_gap_s": "longest gap",
}
#: SLO metrics measured by the reliability sidecars (see dhakacart_bench.availability).
RELIABILITY_METRICS = ("availability_pct", "deploy_failed_requests", "recovery_s", "longest_gap_s")


def fmt_ms(ms: float | None) -> str:
    """A latency for people: ``480 ms``, ``1.2 s``; ``—`` when unknown."""
    if ms is None:
        return "—"
    if ms >= 1000:
        s = ms / 1000
        return f"{s:.0f} s" if abs(s - round(s)) < 0.05 else f"{s:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms"


def fmt_pct(rate: float | None) -> str:
    """A rate as a percentage with sensible precision (``0.25%``)."""
    if rate is None:
        return "—"
    pct = rate * 100
    if pct == 0:
        return "0%"
    return f"{pct:.3g}%" if pct < 10 else f"{pct:.1f}%"


def fmt_value(metric: str, value: float | None) -> str:
    """Format a measured value of ``metric`` (ms, rate or req/s)."""
    if value is None:
        return "—"
    if metric in LATENCY_METRICS:
        return fmt_ms(value)
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return f"{value:,.1f} req/s"
    if metric == "availability_pct":
        from dhakacart_bench.availability import fmt_availability

        return fmt_availability(value)
    if metric in ("recovery_s", "longest_gap_s"):
        return f"{value:,.1f} s"
    if metric == "deploy_failed_requests":
        return f"{value:,.0f} failed"
    return str(value)


def signed_change(pct: float | None) -> str:
    """A relative change: ``+12%``, ``-3.5%``, or a ratio (``x41``) past +100%."""
    if pct is None:
        return "—"
    if pct >= 100:
        ratio = 1 + pct / 100
        times = "\u00d7"  # multiplication sign
        return f"{times}{ratio:,.1f}" if ratio < 10 else f"{times}{ratio:,.0f}"
    return f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"


# ---------------------------------------------------------------- HDR statistics


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
    import numpy as np

    counts = np.ctypeslib.as_array(h.counts)[: h.counts_len].astype(np.int64)
    low, high, mid = _index_values(
        h.counts_len, h.sub_bucket_half_count_magnitude, h.unit_magnitude
    )
    return counts, low, high, mid


def hist_stats(h: Any) -> HistStats:
    """Count, min, mean, p50..p99.9 and max of an HdrHistogram, vectorised.

    Same semantics as ``HdrHistogram.get_value_at_percentile`` (highest equivalent
    value of the bucket holding the target count) at a fraction of the cost.
    """
    import numpy as np

    counts, low, high, mid = _arrays(h)
    total = int(counts.sum())
    if total == 0:
        return HistStats(count=0)
    cum = np.cumsum(counts)
    values = {}
    for metric, pct in PERCENTILE_OF.items():
        target = max(1, int(pct * total / 100 + 0.5))
        values[metric] = float(high[int(np.searchsorted(cum, target))]) / 1000
    nz = np.flatnonzero(counts)
    return HistStats(
        count=total,
        min_ms=float(low[nz[0]]) / 1000,
        mean_ms=float((counts * mid).sum()) / total / 1000,
        max_ms=float(high[nz[-1]]) / 1000,
        **values,
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


# ---------------------------------------------------------------- SLOs and verdict


@dataclass(frozen=True)
class SloResult:
    """One SLO of the scenario, checked against the run.

    ``passed`` is True, False, or None when it could not be checked (no data, or
    invariants not checked); None is never a pass.
    """

    name: str
    metric: str
    endpoint: str
    target_max: float | None
    target_min: float | None
    measured: float | None
    passed: bool | None
    reason: str

    @property
    def target(self) -> str:
        """The target in words: ``≤ 500 ms``, ``≥ 100.0 req/s``, ``none broken``."""
        if self.metric == "invariants":
            return "none broken"
        parts = []
        if self.target_max is not None:
            parts.append(f"≤ {fmt_value(self.metric, self.target_max)}")
        if self.target_min is not None:
            parts.append(f"≥ {fmt_value(self.metric, self.target_min)}")
        return " and ".join(parts) or "—"

    @property
    def measured_text(self) -> str:
        """The measured value in words."""
        if self.metric == "invariants":
            return {True: "none broken", False: "broken", None: "not checked"}[self.passed]
        return fmt_value(self.metric, self.measured)


def scenario_slos(meta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The SLO dicts of run.json's resolved scenario (tolerating a missing key)."""
    scenario = meta.get("scenario") or {}
    slos = scenario.get("slos") if isinstance(scenario, Mapping) else None
    return [s for s in slos or [] if isinstance(s, Mapping)]


def _check(value: float | None, lo: float | None, hi: float | None) -> bool | None:
    if value is None:
        return None
    return (hi is None or value <= hi) and (lo is None or value >= lo)


def _summary_row(run: Run, endpoint: str) -> Mapping[str, Any] | None:
    if endpoint == "*":
        return run.summary.get("total")
    for row in run.summary.get("endpoints", []):
        if row.get("name") == endpoint:
            return row
    return None


def invariants_state(meta: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(ok, words) for run.json's invariants: None when not checked."""
    inv = meta.get("invariants")
    if not isinstance(inv, Mapping):
        return None, "not checked (the target is not the bundled store)"
    if not inv.get("checked"):
        return None, "not checked: " + str(inv.get("reason") or "the check did not run")
    if inv.get("ok"):
        return True, "none broken"
    problems = [str(p) for p in inv.get("problems") or []]
    return False, "broken: " + ("; ".join(problems[:3]) or "the check failed")


def evaluate_slos(run: Run) -> tuple[SloResult, ...]:
    """Check every SLO of the run's scenario against the run."""
    results = []
    reliability: Any = None
    for slo in scenario_slos(run.meta):
        metric = str(slo.get("metric", ""))
        endpoint = str(slo.get("endpoint") or "*")
        hi, lo = slo.get("max"), slo.get("min")
        name = str(slo.get("name") or f"{METRIC_LABEL.get(metric, metric)} {endpoint}")
        measured: float | None = None
        if metric in RELIABILITY_METRICS:
            if reliability is None:
                from dhakacart_bench.availability import load_reliability

                reliability = load_reliability(run)
            measured, passed, reason = _reliability_slo(reliability, metric, endpoint, lo, hi)
        elif metric == "invariants":
            passed, reason = invariants_state(run.meta)
        else:
            row = _summary_row(run, endpoint)
            count = int(row.get("count") or 0) if row else 0
            if count == 0:
                measured, passed, reason = None, None, f"no requests to {endpoint}"
            else:
                if metric in LATENCY_METRICS:
                    measured = hist_stats(run.histogram(endpoint)).get(metric)
                elif metric == "error_rate":
                    measured = int(row.get("failures") or 0) / count if row else None
                elif metric == "rps":
                    measured = float(row.get("rps") or 0.0) if row else None
                passed = _check(measured, lo, hi)
                if passed is None:
                    reason = f"unknown metric {metric!r}"
                else:
                    target = SloResult(name, metric, endpoint, hi, lo, None, None, "").target
                    reason = f"measured {fmt_value(metric, measured)}, target {target}"
        results.append(SloResult(name, metric, endpoint, hi, lo, measured, passed, reason))
    return tuple(results)


def _reliability_slo(
    rel: Any, metric: str, endpoint: str, lo: float | None, hi: float | None
) -> tuple[float | None, bool | None, str]:
    """(measured, passed, reason) of a reliability SLO; missing data is never a pass."""
    from dhakacart_bench.availability import measure_slo, not_recovered

    measured, why_not = measure_slo(rel, metric, endpoint)
    if measured is None:
        return None, None, why_not or "no data"
    target = SloResult("", metric, endpoint, hi, lo, None, None, "").target
    reason = f"measured {fmt_value(metric, measured)}, target {target}"
    if metric == "recovery_s" and (stuck := not_recovered(rel)):
        labels = ", ".join(r.label or r.action for r in stuck)
        return measured, False, f"not recovered by the end of the run after {labels}; {reason}"
    return measured, _check(measured, lo, hi), reason


@dataclass(frozen=True)
class Verdict:
    """PASS / FAIL / INCONCLUSIVE, with the reasons in plain words."""

    status: str
    reasons: tuple[str, ...]
    slos: tuple[SloResult, ...] = field(default=())

    @property
    def headline(self) -> str:
        """One sentence answering "are we ready for the sale?"."""
        if self.status == PASS and not self.slos:
            return "Yes, as far as it goes — no targets were set to judge this run."
        if self.status == PASS:
            return "Yes — every target held in this run."
        if self.status == FAIL:
            return "No — at least one target was missed."
        return "Can't tell from this run."


def evaluate_verdict(run: Run, slos: Iterable[SloResult] | None = None) -> Verdict:
    """Decide the verdict (rules in docs/reports.md).

    FAIL when business invariants are broken (always), or an SLO failed in a run
    whose numbers can be trusted; INCONCLUSIVE when the run was interrupted or failed,
    the load generator was saturated, too few requests were measured, or an SLO could
    not be checked; PASS otherwise.
    """
    results = tuple(evaluate_slos(run) if slos is None else slos)
    meta = run.meta
    inv_ok, inv_words = invariants_state(meta)
    failed = [r for r in results if r.passed is False and r.metric != "invariants"]
    unchecked = [r for r in results if r.passed is None]
    doubts = []
    if run.status != "completed":
        why = meta.get("status_reason") or "no reason recorded"
        state = {"failed": "failed", "interrupted": "was interrupted"}.get(
            run.status, f"ended as {run.status!r}"
        )
        doubts.append(f"The run {state} ({why}): it covers only part of the plan.")
    distrust = []  # doubts that make the measured numbers themselves untrustworthy
    gen = meta.get("generator") or {}
    if gen.get("saturated"):
        distrust.append(
            "The load generator was saturated ("
            + str(gen.get("reason") or "CPU or event-loop lag too high")
            + "): its latencies measure the load generator, not the store."
        )
    machine = meta.get("machine") or {}
    if machine.get("busy"):
        distrust.append(f"The machine was busy with other work: {machine.get('reason')}.")
    notes = []
    for loss in (meta.get("workers") or {}).get("lost") or []:
        restored = loss.get("restored_after_s")
        what = f"Worker {loss['worker']} was lost at {loss['lost_at_s']} s ({loss['how']})"
        if loss.get("returned_at_s") is not None:
            notes.append(
                f"Worker {loss['worker']} missed heartbeats at {loss['lost_at_s']} s and came"
                f" back at {loss['returned_at_s']} s: an overloaded load generator, not a dead one."
            )
        elif restored is None:
            doubts.append(f"{what} and its load was not restored: part of the plan never ran.")
        else:
            notes.append(f"{what}; its users were back on the other workers {restored} s later.")
    users = meta.get("users") or {}
    planned, peak = users.get("requested_peak") or 0, users.get("peak") or 0
    if planned and peak > OVERSHOOT_FACTOR * planned:
        distrust.append(
            f"{peak:,} users ran at the peak, more than the {planned:,} planned: on an"
            " overloaded machine workers miss heartbeats, and Locust's master hands their"
            " users to other workers while the slow ones keep running theirs (locust#1158)."
            " This is not the planned load — add machines or lower the load."
        )
    total = int((run.summary.get("total") or {}).get("count") or 0)
    gate = (meta.get("scenario") or {}).get("gate") or {}
    minimum = int(gate.get("min_requests") or DEFAULT_MIN_REQUESTS)
    if total < minimum:
        distrust.append(
            f"Only {total:,} requests were measured; a verdict needs at least {minimum:,}."
        )
    doubts = [*doubts, *distrust]
    slo_reasons = [f"{r.name}: {r.reason}." for r in failed]
    if inv_ok is False:
        return Verdict(FAIL, (f"Business invariants {inv_words}.", *slo_reasons, *doubts), results)
    if failed and not distrust:
        return Verdict(FAIL, (*slo_reasons, *doubts), results)
    if doubts or unchecked:
        unsure = [f"{r.name}: could not be checked — {r.reason}." for r in unchecked]
        if failed:
            unsure += [f"(Not trusted) {s}" for s in slo_reasons]
        return Verdict(INCONCLUSIVE, (*doubts, *unsure, *notes), results)
    held = f"All {len(results)} SLOs held" if results else "No SLOs were set; the run completed"
    return Verdict(PASS, (f"{held} over {total:,} requests.", *notes), results)


# ---------------------------------------------------------------- comparison

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


def _metric_of(row: Mapping[str, Any] | None, metric: str) -> float | None:
    if not row or not row.get("count"):
        return None
    if metric == "error_rate":
        return int(row.get("failures") or 0) / int(row["count"])
    value = row.get(metric)
    return None if value is None else float(value)


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

    def rows_of(r: Run) -> dict[str, Mapping[str, Any]]:
        out = {str(e.get("name")): e for e in r.summary.get("endpoints", [])}
        out["*"] = r.summary.get("total") or {}
        return out

    a, b = rows_of(baseline), rows_of(run)
    rows, ranked = [], []
    for endpoint in sorted(set(a) | set(b), key=lambda e: (e != "*", e)):
        changes = {
            m: _change(endpoint, m, _metric_of(a.get(endpoint), m), _metric_of(b.get(endpoint), m))
            for m in COMPARED
        }
        counts = (
            int((a.get(endpoint) or {}).get("count") or 0),
            int((b.get(endpoint) or {}).get("count") or 0),
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
