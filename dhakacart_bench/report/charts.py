"""Report charts: matplotlib (Agg) figures returned as inline SVG strings.

Each function takes plain data and returns the ``<svg>`` element as text (no XML
prolog), with text kept as ``<text>`` elements that matplotlib XML-escapes; labels are
also mathtext-escaped so a ``$`` in an endpoint name is shown, not parsed. Long series
are downsampled to at most :data:`MAX_POINTS` points per line (mean for counts, max for
latencies, so spikes stay visible). Error messages never go into a chart.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dhakacart_bench.humanize import fmt_ms
from dhakacart_bench.runfolder.layout import ERROR_KINDS
from dhakacart_bench.runfolder.meta import ErrorRecord

MAX_POINTS = 2000
#: The USL curve is drawn this far past the last measured level, no further.
USL_EXTRAPOLATION = 0.15
COLORS = ("#1f5fa8", "#d9822b", "#2a9d5c", "#b83b5e", "#6b4fa0", "#7a7a7a")


@dataclass(frozen=True)
class ChartLimits:
    """Fixed value axes for a chart set (None: fit the data). Side-by-side charts of two
    runs share them (:func:`shared_limits`), so equal heights mean equal values."""

    users_top: float | None = None
    rps_top: float | None = None
    latency_top_ms: float | None = None
    latency_bottom_ms: float | None = None
    latency_log: bool | None = None
    error_top_pct: float | None = None
    spectrum_ms: tuple[float, float] | None = None
    capacity_rps_top: float | None = None
    capacity_p95_top_ms: float | None = None


def _top(values: Any, headroom: float = 1.05) -> float | None:
    finite = [float(v) for v in values if v is not None and v == v]
    return max(finite) * headroom if finite and max(finite) > 0 else None


def shared_limits(
    series: Sequence[Any],
    spectra: Sequence[Mapping[str, Sequence[tuple[float, float]]]] = (),
    levels: Sequence[Sequence[Mapping[str, Any]]] = (),
) -> ChartLimits:
    """The value axes that fit every run's data: time series, spectra, capacity levels."""
    latencies = [v for ts in series for v in ts["p99_ms"]]
    medians = [v for ts in series for v in ts["p50_ms"].dropna()]
    top = _top(latencies) or 0.0
    log = bool(medians) and top > 50 * max(sorted(medians)[len(medians) // 2], 0.001)
    points = [ms for spec in spectra for pts in spec.values() for _, ms in pts if ms > 0]
    return ChartLimits(
        users_top=_top(v for ts in series for v in ts["users"]),
        rps_top=_top(v for ts in series for v in ts["rps"]),
        latency_top_ms=top or None,
        latency_bottom_ms=min(medians) / 1.5 if medians and log else None,
        latency_log=log,
        error_top_pct=_top([v * 100 for ts in series for v in ts["error_rate"].fillna(0)], 1.15),
        spectrum_ms=(min(points) / 1.2, max(points) * 1.2) if points else None,
        capacity_rps_top=_top(lv["rps"] for lvs in levels for lv in lvs),
        capacity_p95_top_ms=_top(lv["p95_ms"] for lvs in levels for lv in lvs),
    )


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(text: str) -> str:
    """Make target text safe for matplotlib: no mathtext, not legend-hidden."""
    text = text.replace("$", r"\$")
    return (" " + text) if text.startswith("_") else text


def _figure(height: float = 3.0, rows: int = 1, **kw: Any) -> tuple[Any, Any]:
    plt = _plt()
    fig, axes = plt.subplots(rows, 1, figsize=(8.0, height), **kw)
    for ax in fig.axes:
        ax.grid(True, color="#e4e4e4", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def _ms_axis(axis: Any) -> None:
    """Label a latency axis in people's units (``250 ms``, ``2 s``), no powers of ten."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_ms(v) if v > 0 else "0"))
    axis.set_minor_formatter(FuncFormatter(lambda _v, _pos: ""))


def _svg(fig: Any, salt: str) -> str:
    import matplotlib

    plt = _plt()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.tight_layout()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def downsample(
    x: Sequence[float], y: Sequence[float], how: str = "mean", max_points: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    """Bucket a series to at most ``max_points`` points (``how``: mean or max)."""
    import numpy as np

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) <= max_points:
        return xs.tolist(), ys.tolist()
    k = math.ceil(len(xs) / max_points)
    pad = (-len(xs)) % k
    xb = np.concatenate([xs, np.full(pad, np.nan)]).reshape(-1, k)
    yb = np.concatenate([ys, np.full(pad, np.nan)]).reshape(-1, k)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN buckets stay NaN
        agg = np.nanmax(yb, axis=1) if how == "max" else np.nanmean(yb, axis=1)
    return xb[:, 0].tolist(), agg.tolist()


def load_chart(
    ts: Any,
    *,
    stalls: Sequence[tuple[float, float]] = (),
    rps_top: float | None = None,
    users_top: float | None = None,
) -> str:
    """Users (left axis) and completed requests per second (right axis) over time.

    ``stalls`` are (start, end) seconds in which completions stalled while users waited
    (shaded); ``users_top`` / ``rps_top`` fix the tops of the axes (paired charts share
    them).
    """
    fig, ax = _figure()
    for number, (start, end) in enumerate(stalls):
        label = "completions stalled" if number == 0 else None
        ax.axvspan(start, end, color="#f3c1c8", alpha=0.6, linewidth=0, label=label)
    x, users = downsample(ts["second"], ts["users"], "max")
    ax.step(x, users, where="post", color=COLORS[0], label="users")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("concurrent users", color=COLORS[0])
    ax2 = ax.twinx()
    x2, rps = downsample(ts["second"], ts["rps"], "mean")
    ax2.plot(x2, rps, color=COLORS[1], linewidth=1, label="requests/s")
    ax2.set_ylabel("requests per second", color=COLORS[1])
    ax2.spines[["top"]].set_visible(False)
    ax.set_ylim(bottom=0, top=users_top)
    ax2.set_ylim(bottom=0, top=rps_top)
    if stalls:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig, "load")


def latency_chart(
    ts: Any,
    *,
    slo_ms: float | None = None,
    top_ms: float | None = None,
    bottom_ms: float | None = None,
    log: bool | None = None,
) -> str:
    """p50 / p95 / p99 of each one-second window over time (log scale when wide).

    ``top_ms``, ``bottom_ms`` (log scale) and ``log`` fix the axis (paired charts share
    them)."""
    fig, ax = _figure()
    top = 0.0
    for col, label, color in (
        ("p50_ms", "p50", COLORS[2]),
        ("p95_ms", "p95", COLORS[1]),
        ("p99_ms", "p99", COLORS[3]),
    ):
        x, y = downsample(ts["second"], ts[col], "max")
        ax.plot(x, y, label=label, color=color, linewidth=1)
        finite = [v for v in y if v == v]
        top = max([top, *finite])
    if slo_ms is not None and slo_ms <= 2 * top:
        ax.axhline(slo_ms, color="#b00020", linestyle="--", linewidth=1, label="p95 target")
    elif slo_ms is not None:
        ax.plot([], [], " ", label=f"p95 target {fmt_ms(slo_ms)}: far above")
    low = ts["p50_ms"].dropna()
    if log is None:
        log = bool(len(low)) and top > 50 * max(float(low.median()), 0.001)
    if log:
        ax.set_yscale("log")
    if top_ms is not None:
        ax.set_ylim(top=top_ms)
    if bottom_ms is not None and log:
        ax.set_ylim(bottom=bottom_ms)
    elif not log:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("latency")
    _ms_axis(ax.yaxis)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig, "latency")


def errors_chart(ts: Any, errors: Sequence[ErrorRecord], *, top_pct: float | None = None) -> str:
    """Error rate over time, and when each error kind occurred (with counts).

    ``top_pct`` fixes the top of the error axis (paired charts share it)."""
    fig, (ax, ax2) = _figure(3.6, 2, gridspec_kw={"height_ratios": [2, 1]}, sharex=True)
    x, y = downsample(ts["second"], ts["error_rate"].fillna(0) * 100, "max")
    ax.fill_between(x, y, step="post", color=COLORS[3], alpha=0.35, linewidth=0)
    ax.step(x, y, where="post", color=COLORS[3], linewidth=1)
    ax.set_ylabel("errors (%)")
    ax.set_ylim(0, max([1.0, top_pct or 0.0, *[v * 1.15 for v in y if v == v]]))
    kinds: dict[str, list[float]] = {}
    for e in errors:
        kind = e.kind if e.kind in ERROR_KINDS else "exception"
        first, last = e.first_seen_s, e.last_seen_s
        k = kinds.setdefault(kind, [first, last, 0])
        k[0], k[1], k[2] = min(k[0], first), max(k[1], last), k[2] + e.count
    for i, (kind, (first, last, count)) in enumerate(sorted(kinds.items())):
        ax2.barh(
            i,
            max(last - first, 1.0),
            left=first,
            color=COLORS[i % len(COLORS)],
            alpha=0.3,
            height=0.6,
        )
        ax2.text(first, i, f" {kind}: {count:,}", va="center", fontsize=8)
    ax2.set_yticks([])
    ax2.set_ylim(-0.7, max(len(kinds), 1) - 0.3)
    ax2.set_xlabel("seconds since start")
    if not kinds:
        ax2.text(
            0.5,
            0.5,
            "no errors recorded",
            transform=ax2.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="#555555",
        )
    return _svg(fig, "errors")


_SPECTRUM_TICKS = {
    2: "50%",
    10: "90%",
    100: "99%",
    1000: "99.9%",
    10_000: "99.99%",
    100_000: "99.999%",
}


def distribution_chart(
    spectra: Mapping[str, Sequence[tuple[float, float]]],
    *,
    ylim_ms: tuple[float, float] | None = None,
) -> str:
    """HDR percentile spectrum: latency against 1/(1-p) on log axes, one line each.

    ``ylim_ms`` fixes the latency axis (paired charts share it)."""
    fig, ax = _figure(3.4)
    far = 2.0
    for i, (name, points) in enumerate(spectra.items()):
        pts = [(1 / (1 - p / 100), ms) for p, ms in points if p < 100]
        if not pts:
            continue
        far = max(far, pts[-1][0])
        width = 2.0 if name == "*" else 1.0
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=COLORS[i % len(COLORS)],
            linewidth=width,
            label=_label("all endpoints" if name == "*" else name),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [t for t in _SPECTRUM_TICKS if t <= far * 1.01]
    ax.set_xticks(ticks, [_SPECTRUM_TICKS[t] for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency")
    if ax.get_lines():
        if ylim_ms is not None:
            ax.set_ylim(*ylim_ms)
        _ms_axis(ax.yaxis)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.text(
            0.5,
            0.5,
            "no requests recorded",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="#555555",
        )
    return _svg(fig, "distribution")


def capacity_chart(
    levels: Sequence[Mapping[str, Any]],
    *,
    knee_users: float | None,
    held_users: float | None,
    usl: Mapping[str, Any] | None,
    p95_target_ms: float | None,
    rps_top: float | None = None,
    p95_top_ms: float | None = None,
) -> str:
    """Throughput and p95 against concurrent users; the knee and the USL curve.

    ``rps_top`` / ``p95_top_ms`` fix the tops of the axes (paired charts share them)."""
    fig, ax = _figure(3.4)
    users = [lv["users"] for lv in levels]
    ax.plot(
        users, [lv["rps"] for lv in levels], "o-", color=COLORS[0], label="throughput", markersize=4
    )
    if usl and usl.get("ok"):
        # over the measured range, then a short labelled extrapolation at most
        last = max(users)
        lam, s, k = usl["lam"], usl["sigma"], usl["kappa"]

        def x_of(n: float) -> float:
            return float(lam * n / (1 + s * (n - 1) + k * n * (n - 1)))

        inside = [last * i / 200 for i in range(1, 201)]
        beyond = [last * (1 + USL_EXTRAPOLATION * i / 40) for i in range(41)]
        ax.plot(
            inside,
            [x_of(n) for n in inside],
            "--",
            color=COLORS[0],
            linewidth=1,
            alpha=0.7,
            label="USL fit",
        )
        ax.plot(
            beyond,
            [x_of(n) for n in beyond],
            ":",
            color=COLORS[0],
            linewidth=1,
            alpha=0.5,
            label=f"USL extrapolated (+{USL_EXTRAPOLATION:.0%})",
        )
    if knee_users is not None:
        ax.axvline(knee_users, color=COLORS[4], linestyle=":", label="throughput knee")
    if held_users is not None:
        ax.axvline(held_users, color=COLORS[2], linestyle="-", alpha=0.6, label="SLOs held to")
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("requests per second", color=COLORS[0])
    ax.set_ylim(bottom=0, top=rps_top)
    ax.set_xlim(left=0)
    ax2 = ax.twinx()
    ax2.plot(
        users,
        [lv["p95_ms"] for lv in levels],
        "s-",
        color=COLORS[1],
        markersize=3,
        linewidth=1,
        label="p95",
    )
    if p95_target_ms is not None:
        ax2.axhline(p95_target_ms, color="#b00020", linestyle="--", linewidth=1, label="p95 target")
    ax2.set_ylabel("p95 latency", color=COLORS[1])
    _ms_axis(ax2.yaxis)
    ax2.set_ylim(bottom=0, top=p95_top_ms)
    ax2.spines[["top"]].set_visible(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8, frameon=False)
    return _svg(fig, "capacity")


def probe_timeline_chart(
    checks: Sequence[Any],
    events: Sequence[Mapping[str, Any]],
    *,
    paths: Sequence[str],
) -> str:
    """Probe checks over time, one row per path (ok dots, failed crosses), with a
    vertical marker at each event's start (deploy windows shaded)."""
    fig, ax = _figure(height=1.2 + 0.45 * max(1, len(paths)))
    rows = {path: i for i, path in enumerate(paths)}
    for ok, marker, color, label in (
        (True, "|", COLORS[2], "ok"),
        (False, "x", "#c0392b", "failed"),
    ):
        xs = [c.t_s for c in checks if c.ok is ok and c.path in rows]
        ys = [rows[c.path] for c in checks if c.ok is ok and c.path in rows]
        if xs:
            ax.scatter(xs, ys, marker=marker, color=color, s=30, linewidths=1, label=label)
    for ev in events:
        start = ev.get("started_s")
        if start is None:
            continue
        window = ev.get("window")
        if window:
            ax.axvspan(window["start_s"], window["end_s"], color="#f3d9b1", alpha=0.6, lw=0)
        ax.axvline(start, color=COLORS[4], linewidth=1, linestyle="--")
        ax.annotate(
            _label(str(ev.get("label") or ev.get("action") or "")),
            (start, len(paths) - 0.5),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
            color=COLORS[4],
        )
    ax.set_yticks(range(len(paths)), [_label(p) for p in paths])
    ax.set_ylim(-0.6, len(paths) - 0.4)
    ax.set_xlabel("seconds since start")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return _svg(fig, "probe")
