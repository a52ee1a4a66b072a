"""What a busy machine or a saturated load generator can distort, and what it cannot.

Other processes' CPU (or a generator out of CPU) delays requests before they are sent
and responses before they are timed: latencies, throughput and recovery times become
untrustworthy, and so do client-side timeouts. It does not make the target refuse or
reset connections, answer 5xx, send a wrong body, drop out of a deploy, or break an
invariant. :func:`failure_stands` says whether a missed SLO is one of the latter, so the
verdict can FAIL a busy run on what the busy machine could not have caused and leave
only the rest INCONCLUSIVE (docs/reports.md).
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
    if result.metric in DISTORTABLE_METRICS:
        return False
    if result.metric == "error_rate":
        rate = untimed_error_rate(run, result.endpoint)
        return rate is not None and result.target_max is not None and rate > result.target_max
    # invariants, availability, failed requests during deploys, gaps
    return True
