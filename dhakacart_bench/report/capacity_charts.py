"""The capacity search's charts: the capacity curve (completed against offered load) and
p95 per endpoint against offered load, good levels and bad levels marked apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dhakacart_bench.report.charts import COLORS, _figure, _label, _ms_axis, _svg

GOOD, BAD = "#2a9d5c", "#b00020"


def _offered(lv: Mapping[str, Any]) -> float:
    return float(lv["offered_rps"] or 0.0)


def capacity_curve_chart(
    levels: Sequence[Mapping[str, Any]], *, sustainable_rps: float | None
) -> str:
    """Completed against offered req/s, one point per level tried: on the diagonal while
    the target keeps up; good levels as green dots, bad ones as red crosses."""
    fig, ax = _figure(3.4)
    ordered = sorted(levels, key=_offered)
    top = max((max(_offered(lv), lv["completed_rps"]) for lv in ordered), default=1.0) * 1.08
    ax.plot([0, top], [0, top], ":", color="#999999", linewidth=1, label="completed = offered")
    ax.plot(
        [_offered(lv) for lv in ordered],
        [lv["completed_rps"] for lv in ordered],
        "-",
        color=COLORS[0],
        linewidth=1,
        alpha=0.6,
    )
    for held, marker, colour, label in ((True, "o", GOOD, "held"), (False, "x", BAD, "broke")):
        chosen = [lv for lv in ordered if bool(lv["held"]) is held]
        if chosen:
            ax.plot(
                [_offered(lv) for lv in chosen],
                [lv["completed_rps"] for lv in chosen],
                marker,
                color=colour,
                markersize=7,
                linestyle="none",
                label=f"level {label}",
            )
    if sustainable_rps:
        ax.axhline(sustainable_rps, color=GOOD, linewidth=1, alpha=0.7, label="sustainable")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("offered load (req/s)")
    ax.set_ylabel("completed (req/s)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig, "capacity-curve")


def endpoint_p95_chart(
    levels: Sequence[Mapping[str, Any]],
    *,
    slo_ms: Mapping[str, float],
    endpoints: Sequence[str],
) -> str:
    """p95 of each endpoint against offered load (log scale), its SLO dashed; the points
    of bad levels as crosses."""
    fig, ax = _figure(3.6)
    ordered = sorted(levels, key=_offered)
    for i, endpoint in enumerate(endpoints):
        colour = COLORS[i % len(COLORS)]
        pts = [
            (_offered(lv), lv["endpoints"][endpoint]["p95_ms"], bool(lv["held"]))
            for lv in ordered
            if endpoint in lv["endpoints"] and lv["endpoints"][endpoint]["p95_ms"]
        ]
        if not pts:
            continue
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            "-",
            color=colour,
            linewidth=1,
            label=_label(endpoint),
        )
        bad = [p for p in pts if not p[2]]
        good = [p for p in pts if p[2]]
        ax.plot([p[0] for p in good], [p[1] for p in good], "o", color=colour, markersize=4)
        ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color=colour, markersize=7)
        if endpoint in slo_ms:
            ax.axhline(slo_ms[endpoint], color=colour, linestyle="--", linewidth=1, alpha=0.8)
    if "*" in slo_ms and "*" not in endpoints:
        ax.axhline(slo_ms["*"], color=BAD, linestyle="--", linewidth=1, label="p95 SLO (all)")
    ax.set_yscale("log")
    _ms_axis(ax.yaxis)
    ax.set_xlim(left=0)
    ax.set_xlabel("offered load (req/s)")
    ax.set_ylabel("p95 latency")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return _svg(fig, "capacity-endpoints")
