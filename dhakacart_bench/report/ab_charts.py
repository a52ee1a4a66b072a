"""The A/B report's charts: both arms' p95 per second on one chart, and the p95 ratio
with its interval at every look of the sequential gate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dhakacart_bench.report.charts import COLORS, _figure, _ms_axis, _svg


def arms_p95_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    decided_at_s: float | None,
    warmup_s: float = 0.0,
) -> str:
    """p95 per second of each arm (``{arm: (seconds, p95_ms)}``), the warm-up the gate
    does not judge shaded, the decision marked."""
    fig, ax = _figure(3.0)
    if warmup_s > 0:
        ax.axvspan(0, warmup_s, color="#999", alpha=0.15, linewidth=0, label="warm-up (not judged)")
    for number, (arm, (xs, ys)) in enumerate(series.items()):
        ax.plot(xs, ys, color=COLORS[number], linewidth=1.2, label=f"{arm} p95")
    if decided_at_s is not None:
        ax.axvline(decided_at_s, color="#444", linestyle="--", linewidth=0.9)
        ax.annotate("decided", (decided_at_s, ax.get_ylim()[1]), fontsize=8, ha="right", va="top")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("p95 (all endpoints)")
    _ms_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig, "ab-p95")


def ratio_chart(looks: Sequence[Mapping[str, Any]], *, margin_pct: float) -> str:
    """The all-endpoints p95 ratio (as a change in %) with its interval at each look."""
    fig, ax = _figure(3.0)
    points = [lk for lk in looks if lk["ratio"] is not None]
    xs = [float(lk["t_s"]) for lk in points]
    mid = [(float(lk["ratio"]) - 1) * 100 for lk in points]
    low = [(float(lk["low"]) - 1) * 100 for lk in points]
    high = [min((float(lk["high"]) - 1) * 100, 500.0) for lk in points]
    if xs:
        ax.fill_between(xs, low, high, color=COLORS[0], alpha=0.2, label="interval at the look")
        ax.plot(xs, mid, color=COLORS[0], marker="o", markersize=3, label="candidate / baseline")
    ax.axhline(
        margin_pct, color=COLORS[3], linestyle="--", linewidth=1, label=f"margin +{margin_pct:g}%"
    )
    ax.axhline(0, color="#888", linewidth=0.6)
    for lk in points:
        if lk["decision"] in ("PASS", "FAIL"):
            ax.axvline(float(lk["t_s"]), color="#444", linestyle=":", linewidth=0.9)
            ax.annotate(
                str(lk["decision"]),
                (float(lk["t_s"]), ax.get_ylim()[1]),
                fontsize=8,
                ha="right",
                va="top",
            )
    ax.set_xlabel("seconds into the run (looks)")
    ax.set_ylabel("p95 change, %")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return _svg(fig, "ab-ratio")
