"""Terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dhakacart_bench.humanize import fmt_ms_compact, format_duration

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
        f"  users {users:>6,}  rps {rps:>8,.1f}  p95 {fmt_ms_compact(p95_ms):>6} ms"
        f"  errors {error_pct:5.2f}%  requests {requests:,}"
    )


def _trim(name: str) -> str:
    return name if len(name) <= ENDPOINT_WIDTH else name[: ENDPOINT_WIDTH - 1] + "…"


def endpoint_table(endpoints: Sequence[Mapping[str, Any]], total: Mapping[str, Any]) -> str:
    """The per-endpoint table of a summary.json, busiest endpoints first."""
    header = (
        f"{'endpoint':<{ENDPOINT_WIDTH}} {'requests':>9} {'fail':>6} {'rps':>8}"
        f" {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    )
    rows = [header, "-" * len(header)]
    busiest = sorted(endpoints, key=lambda e: -int(e.get("count", 0)))
    for entry in [*busiest[:MAX_ENDPOINT_ROWS], total]:
        name = "all endpoints" if entry is total else _trim(str(entry["name"]))
        rows.append(
            f"{name:<{ENDPOINT_WIDTH}} {entry['count']:>9,} {entry['failures']:>6,}"
            f" {entry['rps']:>8,.1f} {fmt_ms_compact(entry.get('p50_ms')):>7} {fmt_ms_compact(entry.get('p95_ms')):>7}"
            f" {fmt_ms_compact(entry.get('p99_ms')):>7} {fmt_ms_compact(entry.get('max_ms')):>7}"
        )
    if len(busiest) > MAX_ENDPOINT_ROWS:
        rows.insert(-1, f"… and {len(busiest) - MAX_ENDPOINT_ROWS} more endpoints in the report")
    return "\n".join(rows)


def run_summary(meta: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    """The end-of-run screen: what ran, the table, generator health, invariants."""
    users = meta.get("users") or {}
    lines = [
        f"Run {meta['run_id']}: {meta['status']}"
        + (f" ({meta['status_reason']})" if meta.get("status_reason") else ""),
        f"  scenario {meta['scenario_name']} · {meta['workload_model']} model"
        f" · peak {users.get('peak', 0):,} users · {meta['duration_s']:.1f} s · {meta['host']}",
        "  latencies in ms, exact (HDR histograms)",
        "",
        endpoint_table(summary.get("endpoints", []), summary["total"]),
        "",
    ]
    generator = meta.get("generator") or {}
    if generator.get("saturated"):
        lines.append(f"! {generator['reason']}")
    else:
        lines.append(
            f"  generator healthy: CPU p50 {generator.get('cpu_pct_p50', 0):.0f}%"
            f" max {generator.get('cpu_pct_max', 0):.0f}%,"
            f" loop lag p99 {generator.get('lag_ms_p99', 0):.1f} ms"
        )
    arrivals = meta.get("arrivals")
    if arrivals:
        lines.append(
            f"  open model: {arrivals['started']:,} of {arrivals['planned']:,} planned arrivals"
            f" started, lag p99 {arrivals['lag_ms_p99']:.1f} ms, {arrivals['late']:,} late,"
            f" {arrivals['dropped']:,} dropped"
        )
    invariants = meta.get("invariants")
    if invariants is None:
        lines.append("  store invariants: not checked (external target)")
    elif invariants.get("ok"):
        lines.append("  store invariants: all hold (no oversold stock, no duplicate orders)")
    else:
        lines.append("! store invariants BROKEN:")
        lines.extend(f"    - {problem}" for problem in invariants.get("problems", []))
    return "\n".join(lines)
