"""What a busy machine or a saturated load generator can distort, and what it cannot.

Other processes' CPU (or a generator out of CPU) delays requests before they are sent
and responses before they are timed: latencies, throughput and recovery times become
untrustworthy, and so do client-side timeouts. It does not make the target refuse or
reset connections, answer 5xx, send a wrong body, drop out of a deploy, or break an
invariant. Probe checks and requests that timed out are the client's doubt; the rest
of an availability figure is not. :func:`failure_stands` says whether a missed SLO is
one of the latter, so the verdict can FAIL a busy run on what the busy machine could
not have caused and leave only the rest INCONCLUSIVE (docs/reports.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dhakacart_bench.scenario.metrics import ALL_ENDPOINTS, LATENCY_METRICS

if TYPE_CHECKING:
    from dhakacart_bench.analysis.slos import SloResult
    from dhakacart_bench.runfolder.reader import Run

#: Metrics a busy machine or a saturated generator can move (they are made of time).
DISTORTABLE_METRICS: frozenset[str] = frozenset({*LATENCY_METRICS, "rps", "recovery_s"})
#: Failure kinds (measure/failures.py) a slow client can cause by itself.
CLIENT_TIMED_KINDS: frozenset[str] = frozenset({"timeout"})


def untimed_error_rate(run: Run, endpoint: str) -> float | None:
    """The error rate of ``endpoint`` (or all) without the failures a slow client can
    cause (timeouts): refused / reset connections, 5xx, wrong bodies. None: no requests."""
    row = run.summary.row(endpoint)
    if row is None or row.count == 0:
        return None
    timed_out = sum(
        e.count
        for e in run.errors
        if e.kind in CLIENT_TIMED_KINDS and (endpoint == ALL_ENDPOINTS or e.endpoint == endpoint)
    )
    return max(0, row.failures - timed_out) / row.count


def failure_stands(run: Run, result: SloResult) -> bool:
    """Whether the missed SLO ``result`` is a failure a busy machine or a saturated
    generator cannot have caused (it stays FAIL on such a run)."""
    if result.passed is not False:
        return False
    if result.metric in LATENCY_METRICS:
        return latency_miss_beyond_generator(run, result)
    if result.metric in DISTORTABLE_METRICS:
        return False
    if result.metric == "error_rate":
        rate = untimed_error_rate(run, result.endpoint)
        return rate is not None and result.target_max is not None and rate > result.target_max
    if result.metric in UNTIMED_RELIABILITY:
        value = untimed_reliability(run, result.metric, result.endpoint)
        if value is None:
            return False  # nothing but timeouts: all of it could be the machine's
        if result.target_max is not None and value > result.target_max:
            return True
        return result.target_min is not None and value < result.target_min
    # invariants
    return True


#: How often a request's greenlet waits on the event loop (connect, send, receive) ...
LOOP_WAITS_PER_REQUEST = 3
#: ... and the resolution of the generator's loop-lag probe (measure/health.py).
LAG_PROBE_MS = 50.0


def latency_miss_beyond_generator(run: Run, result: SloResult) -> bool:
    """Whether a missed latency SLO is missed by more than a saturated generator can
    have added: when the machine was not busy with other work, the only distortion is
    the generator's own, and no request was timed later than its worst event-loop
    stall at each wait — ``measured - 3 x (worst lag + 50 ms)`` is a floor under the
    true latency. A target that saturated the machine it shares with the generator
    starves the generator's loop too; its 50-second p95 is still the target's."""
    meta = run.meta
    if meta.machine.busy or result.measured is None or result.target_max is None:
        return False  # other processes may have slowed the target itself
    lag_ms = meta.generator.lag_ms_max
    if not lag_ms:
        return False  # not measured: no bound
    floor = result.measured - LOOP_WAITS_PER_REQUEST * (lag_ms + LAG_PROBE_MS)
    return floor > result.target_max


#: Reliability metrics measured again without timed-out probe checks and requests.
UNTIMED_RELIABILITY = frozenset({"availability_pct", "longest_gap_s", "deploy_failed_requests"})


def untimed_reliability(run: Run, metric: str, endpoint: str = ALL_ENDPOINTS) -> float | None:
    """A reliability metric without what a slow client can cause by itself: probe
    checks that timed out are left out (neither up nor down), and so are timed-out
    requests among a deploy's failed ones. None: nothing left to measure."""
    from dhakacart_bench.analysis.reliability import load_reliability
    from dhakacart_bench.stats.availability import availability, longest_gap

    rel = load_reliability(run)
    if metric == "deploy_failed_requests":
        if not rel.deploys:
            return None
        failed = 0
        for d in rel.deploys:
            timed_out = sum(
                int(e.get("count") or 0)
                for e in d.locust_errors
                if e.get("kind") in CLIENT_TIMED_KINDS
            )
            probe_timed_out = sum(n for k, n in d.probe_by_kind.items() if k in CLIENT_TIMED_KINDS)
            failed += max(0, d.locust_failed - timed_out) + d.probe_failed - probe_timed_out
        return float(failed)
    if rel.checks is None:
        return None
    kept = [c for c in rel.checks if c.kind not in CLIENT_TIMED_KINDS]
    if metric == "longest_gap_s":
        interval = float((rel.probe or {}).get("interval_s") or 0)
        return longest_gap(kept, interval_s=interval).length_s if kept else None
    row = availability(kept).get(endpoint)
    return None if row is None else row.pct
