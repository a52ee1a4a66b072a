"""Analysis and planning on synthetic run folders with known numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from dhakacart_bench.analysis.capacity import evaluate_capacity, load_levels
from dhakacart_bench.analysis.compare import compare_runs
from dhakacart_bench.analysis.plan import SOCKET_USERS_PER_WORKER, make_plan
from dhakacart_bench.analysis.slos import evaluate_slos
from dhakacart_bench.analysis.verdict import FAIL, INCONCLUSIVE, PASS, evaluate_verdict
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.hdr import hist_stats, new_histogram, percentile_spectrum
from dhakacart_bench.stats.usl import find_knee, fit_usl
from tests.synthetic import (
    MakeRun,
    ramp_profile,
    rewrite_meta,
    usl_throughput,
    write_synthetic_run,
)

LEVELS = [10, 20, 30, 40, 50, 60, 70, 80]


def _steps(tmp_path: Path, **kw):
    """Eight 10-second steps; p95 passes 500 ms from 60 users on."""
    kw.setdefault("latency_model", lambda ep, n: 20.0 if n < 60 else 900.0)
    return load_run(
        write_synthetic_run(
            tmp_path,
            seconds=80,
            users_profile=lambda s: LEVELS[s // 10],
            usl=(5.0, 0.02, 0.0005),
            **kw,
        )
    )


def test_hist_stats_matches_hdrhistogram_exactly() -> None:
    rng = np.random.default_rng(7)
    h = new_histogram()
    for v in rng.lognormal(9, 1.2, 5000):
        h.record_value(int(v) + 1)
    st = hist_stats(h)
    assert st.count == 5000
    for metric, pct in (
        ("p50_ms", 50),
        ("p90_ms", 90),
        ("p95_ms", 95),
        ("p99_ms", 99),
        ("p999_ms", 99.9),
    ):
        assert st.get(metric) == h.get_value_at_percentile(pct) / 1000
    assert st.max_ms == h.get_max_value() / 1000
    assert st.min_ms == h.get_min_value() / 1000
    assert st.mean_ms == pytest.approx(h.get_mean_value() / 1000)
    assert hist_stats(new_histogram()).count == 0


def test_percentile_spectrum_is_monotone_and_ends_at_max() -> None:
    h = new_histogram()
    for v in range(1, 10_001):
        h.record_value(v * 10)
    spectrum = percentile_spectrum(h)
    values = [v for _, v in spectrum]
    assert values == sorted(values)
    assert spectrum[-1] == (100.0, h.get_max_value() / 1000)
    assert any(p == pytest.approx(99.0) for p, _ in spectrum)


def test_slos_measure_what_the_factory_recorded(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(make_run(error_rate=0.02))
    by_metric = {r.metric: r for r in evaluate_slos(run)}
    total = run.summary.total
    assert by_metric["p95_ms"].measured == total.p95_ms
    assert by_metric["p95_ms"].passed is True
    assert by_metric["error_rate"].measured == total.failures / total.count
    assert by_metric["error_rate"].measured == pytest.approx(0.02, abs=0.002)
    assert by_metric["error_rate"].passed is False
    assert by_metric["invariants"].passed is True


def test_rps_and_endpoint_slos(make_run: MakeRun, tmp_path: Path) -> None:
    slos = [
        {"metric": "rps", "endpoint": "*", "min": 10_000.0, "max": None, "name": "10k rps"},
        {
            "metric": "p99_ms",
            "endpoint": "POST /api/checkout",
            "max": 1000.0,
            "min": None,
            "name": "checkout p99",
        },
        {"metric": "p95_ms", "endpoint": "GET /nowhere", "max": 1.0, "min": None, "name": "x"},
    ]
    run = load_run(make_run(slos=slos))
    rps, checkout, nowhere = evaluate_slos(run)
    assert rps.measured == run.summary.total.rps and rps.passed is False
    row = run.summary.row("POST /api/checkout")
    assert row is not None and checkout.measured == row.p99_ms and checkout.passed is True
    assert nowhere.passed is None and "no requests" in nowhere.reason


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({}, PASS, "SLOs held"),
        ({"latency_model": lambda ep, n: 2000.0}, FAIL, "p95 under 500 ms"),
        (
            {"invariants": {"checked": True, "ok": False, "problems": ["sku-7 oversold by 3"]}},
            FAIL,
            "sku-7 oversold by 3",
        ),
        (
            {
                "invariants": {"checked": True, "ok": False, "problems": ["oversold"]},
                "saturated": True,
            },
            FAIL,
            "oversold",
        ),
        ({"status": "interrupted", "status_reason": "Ctrl-C"}, INCONCLUSIVE, "interrupted"),
        ({"status": "interrupted", "latency_model": lambda ep, n: 2000.0}, FAIL, "p95"),
        ({"saturated": True}, INCONCLUSIVE, "measure the load generator, not the store"),
        ({"saturated": True, "latency_model": lambda ep, n: 2000.0}, INCONCLUSIVE, "(Not trusted)"),
        ({"gate": {"min_requests": 10**9}}, INCONCLUSIVE, "a verdict needs at least"),
        ({"invariants": None}, INCONCLUSIVE, "could not be checked"),
    ],
)
def test_verdict_rules(
    make_run: MakeRun, tmp_path: Path, kwargs: dict, status: str, words: str
) -> None:
    verdict = evaluate_verdict(load_run(make_run(seconds=10, **kwargs)))
    assert verdict.status == status, verdict.reasons
    assert any(words in r for r in verdict.reasons), verdict.reasons
    assert verdict.headline


def test_verdict_is_frozen(make_run: MakeRun, tmp_path: Path) -> None:
    verdict = evaluate_verdict(load_run(make_run(seconds=5)))
    with pytest.raises(AttributeError):
        verdict.status = FAIL  # type: ignore[misc]


def test_level_p95_merges_window_histograms(tmp_path: Path) -> None:
    run = _steps(tmp_path)
    mode, levels = load_levels(run)
    assert mode == "steps"
    assert [lv.users for lv in levels] == LEVELS
    merged = new_histogram()
    for line in (run.path / "windows.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if 20 <= rec["second"] < 30:
            for enc in rec["endpoints"].values():
                merged.add(HdrHistogram.decode(enc))
    level = levels[2]
    assert level.stats.p95_ms == merged.get_value_at_percentile(95) / 1000
    assert level.requests == merged.get_total_count()
    assert level.rps == pytest.approx(level.requests / 10)


def test_capacity_headline_names_the_knee(tmp_path: Path) -> None:
    cap = evaluate_capacity(_steps(tmp_path))
    assert cap.held is not None and cap.held.users == 50
    assert cap.broke is not None and cap.broke.users == 60
    assert cap.headline.startswith(
        "Held 50 concurrent shoppers with p95 under 500 ms; beyond ~60 p95 rises past 500 ms"
    )
    assert cap.throughput_knee is not None and cap.throughput_knee.users == 30
    assert cap.usl.ok and cap.usl.n_star == pytest.approx(math.sqrt(0.98 / 0.0005), rel=0.1)


def test_capacity_says_when_the_limit_was_not_reached(make_run: MakeRun, tmp_path: Path) -> None:
    cap = evaluate_capacity(load_run(make_run(stepped=True)))
    assert cap.supported and cap.broke is None and cap.throughput_knee is None
    assert "Held every level tested (up to 100 users" in cap.headline
    assert "the limit is higher than this run reached" in cap.headline
    assert not cap.usl.ok and "κ ≈ 0" in cap.usl.reason


def test_capacity_single_level_cannot_locate_a_limit(make_run: MakeRun, tmp_path: Path) -> None:
    cap = evaluate_capacity(load_run(make_run(users_profile=lambda s: 40)))
    assert len(cap.levels) == 1 and not cap.supported
    assert "can't locate a limit" in cap.headline
    assert not cap.usl.ok and "at least 4" in cap.usl.reason


def test_capacity_of_a_ramp_uses_bins(make_run: MakeRun, tmp_path: Path) -> None:
    run = load_run(
        make_run(seconds=120, users_profile=ramp_profile(1, 240, 120), usl=(5.0, 0.0, 0.0))
    )
    mode, levels = load_levels(run)
    assert mode == "ramp" and len(levels) >= 8
    assert sum(lv.requests for lv in levels) == run.summary.total.count


def test_capacity_fails_from_the_lowest_level(tmp_path: Path) -> None:
    cap = evaluate_capacity(_steps(tmp_path, latency_model=lambda ep, n: 900.0))
    assert cap.held is None and cap.broke is not None and cap.broke.users == 10
    assert cap.headline.startswith("Did not hold even the lowest level tested (10 users)")


@pytest.mark.parametrize(
    ("lam", "sigma", "kappa"), [(5.0, 0.02, 0.0005), (120.0, 0.1, 0.001), (2.0, 0.0, 0.0002)]
)
def test_usl_fit_recovers_known_parameters(lam: float, sigma: float, kappa: float) -> None:
    rng = np.random.default_rng(3)
    n = np.array([1, 5, 10, 20, 30, 40, 60, 80, 100, 130, 160], dtype=float)
    x = np.array([usl_throughput(lam, sigma, kappa)(v) for v in n]) * rng.normal(1, 0.01, len(n))
    fit = fit_usl(n.tolist(), x.tolist())
    assert fit.ok, fit.reason
    assert fit.lam == pytest.approx(lam, rel=0.05)
    assert fit.sigma == pytest.approx(sigma, abs=0.02)
    assert fit.kappa == pytest.approx(kappa, rel=0.2)
    true_star = math.sqrt((1 - sigma) / kappa)
    assert fit.n_star == pytest.approx(true_star, rel=0.1)
    assert fit.n_star_interval is not None
    assert fit.n_star_interval[0] <= fit.n_star <= fit.n_star_interval[1]
    assert fit.ceiling_rps == pytest.approx(usl_throughput(lam, sigma, kappa)(true_star), rel=0.05)


def test_usl_gives_no_estimate_when_data_cannot_support_one() -> None:
    few = fit_usl([10, 20, 30], [50, 90, 120])
    assert not few.ok and "at least 4" in few.reason
    linear = fit_usl([10, 20, 40, 80], [50, 100, 200, 400])
    assert not linear.ok and "κ ≈ 0" in linear.reason
    noisy = fit_usl([10, 20, 30, 40, 50, 60], [300, 40, 250, 60, 280, 30])
    assert not noisy.ok and ("poor" in noisy.reason or "shape" in noisy.reason)


def test_find_knee() -> None:
    users = [10, 20, 30, 40, 50]
    assert find_knee(users, [100, 200, 300, 400, 500]) is None
    assert find_knee(users, [100, 200, 290, 300, 295]) == 2
    assert find_knee(users, [100, 200, 200, 400, 500]) is None  # one flat step is noise
    assert find_knee([10], [100]) is None


def test_compare_ranks_the_biggest_changes(make_run: MakeRun, tmp_path: Path) -> None:
    base = load_run(make_run(name="base"))
    slow = {"GET /api/products": 24.0, "GET /api/products/[id]": 8.4, "POST /api/checkout": 40.0}
    run = load_run(
        make_run(
            name="run",
            latency_model=lambda ep, n: slow[ep],
            error_rate=lambda s, ep, n: 0.03 if ep == "POST /api/checkout" else 0,
        )
    )
    cmp = compare_runs(base, run)
    assert cmp.baseline_id == base.run_id and cmp.run_id == run.run_id
    top = cmp.top_changes
    assert len(top) == 3 and all(c.worse for c in top)
    assert (top[0].endpoint, top[0].metric) == ("POST /api/checkout", "error_rate")
    assert {(c.endpoint, c.metric) for c in top[1:]} <= {
        ("GET /api/products", m) for m in ("p50_ms", "p95_ms", "p99_ms")
    }
    p95 = next(c for c in top[1:] if c.metric != "error_rate")
    assert p95.delta_pct == pytest.approx(100.0, rel=0.05)
    assert "GET /api/products" in p95.text and "→" in p95.text
    row = next(r for r in cmp.rows if r["endpoint"] == "*")
    assert row["changes"]["rps"].delta == pytest.approx(0.0)


def test_plan_follows_littles_law(tmp_path: Path) -> None:
    run = _steps(tmp_path)
    cap = evaluate_capacity(run)
    plan = make_plan(run, users=100_000, capacity=cap)
    steady = [lv for lv in cap.levels if lv.users <= 30]
    per_user = sum(lv.rps / lv.users for lv in steady) / len(steady)
    assert plan.per_user_rps == pytest.approx(per_user)
    assert plan.needed_rps == pytest.approx(100_000 * per_user)
    assert plan.instance_rps == pytest.approx(min(cap.held.rps, cap.throughput_knee.rps))
    assert plan.instances == math.ceil(plan.needed_rps / (plan.instance_rps * 0.8))
    assert plan.workers >= 100_000 // SOCKET_USERS_PER_WORKER
    assert plan.cycle_s == pytest.approx(plan.response_s + plan.think_s)
    text = "\n".join(plan.lines())
    assert "Little's law" in text and "20,000 users per worker" in text


def test_plan_says_capacity_is_a_lower_bound_when_never_saturated(
    make_run: MakeRun, tmp_path: Path
) -> None:
    plan = make_plan(load_run(make_run(stepped=True)), users=5000)
    assert plan.instance_rps_lower_bound
    assert any("LOWER BOUND" in a for a in plan.assumptions)


def test_a_throughput_plateau_at_flat_latency_is_not_a_knee() -> None:
    """Throughput that stops growing while response times stay put is not saturation."""
    from dhakacart_bench.analysis.capacity import Level, _latency_rose_after
    from dhakacart_bench.stats.hdr import HistStats
    from dhakacart_bench.stats.usl import find_knee

    def level(users: float, rps: float, mean_ms: float) -> Level:
        return Level(users, 30, int(rps * 30), 0, rps, 0.0, HistStats(1, mean_ms=mean_ms), True, ())

    users, rps = [100.0, 200.0, 300.0, 400.0], [50.0, 100.0, 102.0, 101.0]
    knee_i = find_knee(users, rps)
    assert knee_i == 1
    flat = [level(u, r, 4.0) for u, r in zip(users, rps, strict=True)]
    rising = [level(u, r, m) for u, r, m in zip(users, rps, [4.0, 4.5, 30.0, 60.0], strict=True)]
    assert _latency_rose_after(flat, knee_i) is False
    assert _latency_rose_after(rising, knee_i) is True


def test_a_busy_machine_makes_latency_failures_inconclusive(
    make_run: MakeRun, tmp_path: Path
) -> None:
    from dhakacart_bench.analysis.verdict import INCONCLUSIVE, evaluate_verdict
    from dhakacart_bench.measure.health import assess_host
    from dhakacart_bench.runfolder.reader import load_run

    path = make_run(seconds=30, slos=[{"metric": "p95_ms", "endpoint": "*", "max": 0.001}])
    rewrite_meta(path, machine=assess_host([1.5] * 30))
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == INCONCLUSIVE
    assert any("busy with other work" in reason for reason in verdict.reasons)
    assert any(reason.startswith("(Not trusted)") for reason in verdict.reasons)


def test_more_users_than_planned_is_not_the_planned_load(make_run: MakeRun, tmp_path: Path) -> None:
    from dhakacart_bench.analysis.verdict import INCONCLUSIVE, evaluate_verdict
    from dhakacart_bench.runfolder.meta import UsersMeta
    from dhakacart_bench.runfolder.reader import load_run

    path = make_run(seconds=30)
    rewrite_meta(path, users=UsersMeta(peak=184, requested_peak=100, reference_peak=100_000))
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == INCONCLUSIVE
    assert any("more than the 100 planned" in reason for reason in verdict.reasons)
