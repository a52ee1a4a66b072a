"""Terminal output: the live progress line and the one-screen summary of a run.

Pure formatting: functions take plain data and return strings; the CLI decides where
they go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dhakacart_bench.analysis.scale import scale_of
from dhakacart_bench.humanize import fmt_memory, fmt_ms_compact, format_duration
from dhakacart_bench.runfolder.meta import EndpointSummary, RunMeta, Summary

if TYPE_CHECKING:
    from dhakacart_bench.analysis.verdict import Verdict

ENDPOINT_WIDTH = 34
MAX_ENDPOINT_ROWS = 15


def progress_line(
    *,
    elapsed_s: float,
    planned_s: float,
    users: int,
    rps: float,
    p95_ms: float | None,
    error_pct: float,
    requests: int,
) -> str:
    """One line: where the run is and how the target is doing right now."""
    return (
        f"{format_duration(round(elapsed_s))}/{format_duration(round(planned_s))}"
        f"  users {users:>6,}  rps {rps:>8,.1f}  p95 {_p95_cell(p95_ms):>9}"
        f"  errors {error_pct:5.2f}%  requests {requests:,}"
    )


def _p95_cell(p95_ms: float | None) -> str:
    """``480 ms``, ``4.7 ms``, ``30.1s`` (its own unit from 10 s up: never ``30.1s ms``)."""
    text = fmt_ms_compact(p95_ms)
    return text if text.endswith("s") or text == "-" else f"{text} ms"


def _trim(name: str) -> str:
    return name if len(name) <= ENDPOINT_WIDTH else name[: ENDPOINT_WIDTH - 1] + "…"


def endpoint_table(endpoints: Sequence[EndpointSummary], total: EndpointSummary) -> str:
    """The per-endpoint table of a summary.json, busiest endpoints first."""
    header = (
        f"{'endpoint':<{ENDPOINT_WIDTH}} {'requests':>9} {'fail':>6} {'rps':>8}"
        f" {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    )
    rows = [header, "-" * len(header)]
    busiest = sorted(endpoints, key=lambda e: -e.count)
    for entry in [*busiest[:MAX_ENDPOINT_ROWS], total]:
        name = "all endpoints" if entry is total else _trim(entry.name)
        latencies = " ".join(
            f"{fmt_ms_compact(v):>7}"
            for v in (entry.p50_ms, entry.p95_ms, entry.p99_ms, entry.max_ms)
        )
        rows.append(
            f"{name:<{ENDPOINT_WIDTH}} {entry.count:>9,} {entry.failures:>6,}"
            f" {entry.rps:>8,.1f} {latencies}"
        )
    if len(busiest) > MAX_ENDPOINT_ROWS:
        rows.insert(-1, f"… and {len(busiest) - MAX_ENDPOINT_ROWS} more endpoints in the report")
    return "\n".join(rows)


def run_summary(meta: RunMeta, summary: Summary) -> str:
    """The end-of-run screen: what ran, the table, generator health, invariants."""
    lines = [
        f"Run {meta.run_id}: {meta.status}"
        + (f" ({meta.status_reason})" if meta.status_reason else ""),
        f"  scenario {meta.scenario_name} · {meta.workload_model} model"
        f" · peak {meta.users.peak:,} users · {meta.duration_s:.1f} s · {meta.host}",
        f"  scale: {scale_of(meta).words}",
        "  latencies in ms, exact (HDR histograms)",
        "",
        endpoint_table(summary.endpoints, summary.total),
        "",
    ]
    generator = meta.generator
    if generator.saturated:
        lines.append(f"! {generator.reason}")
        memory = fmt_memory(generator.peak_rss_mib, generator.peak_rss_kib_per_user)
        if memory:
            lines.append(f"  generator{memory.removeprefix(',')}")
    else:
        memory = fmt_memory(generator.peak_rss_mib, generator.peak_rss_kib_per_user)
        lines.append(
            f"  generator healthy: CPU p50 {generator.cpu_pct_p50:.0f}%"
            f" max {generator.cpu_pct_max:.0f}%,"
            f" loop lag p99 {generator.lag_ms_p99:.1f} ms{memory}"
        )
    arrivals = meta.arrivals
    if arrivals:
        lines.append(
            f"  open model: {arrivals.started:,} of {arrivals.planned:,} planned arrivals"
            f" started, lag p99 {arrivals.lag_ms_p99:.1f} ms, {arrivals.late:,} late,"
            f" {arrivals.dropped:,} dropped"
        )
    invariants = meta.invariants
    if invariants is None:
        lines.append("  store invariants: not checked (external target)")
    elif invariants.ok:
        lines.append("  store invariants: all hold (no oversold stock, no duplicate orders)")
    else:
        lines.append("! store invariants BROKEN:")
        lines.extend(f"    - {problem}" for problem in invariants.problems)
    return "\n".join(lines)


def verdict_lines(verdict: Verdict) -> list[str]:
    """The verdict with its scale: the status line, the answer to "ready for the sale?",
    what the run did not show, and the reasons."""
    lines = [f"Verdict: {verdict.scale_line}", f"  Ready for the sale? {verdict.headline}"]
    missing = verdict.not_shown
    if missing:
        lines.append(f"  Not shown: {missing}")
    lines += [f"  - {reason}" for reason in verdict.reasons]
    return lines
