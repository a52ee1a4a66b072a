"""The gate's own quality, measured on real runs of the bundled store.

One store (``ManagedStore``, the smoke scenario's settings) on 127.0.0.1 serves
every run; each run is ``bench run SCENARIO --host <store> --no-report`` in a
subprocess (as CI runs it), then the gate is evaluated in-process. Latency is
injected with the store's fault knob on one endpoint, as a fixed added delay
calibrated from the first (baseline) run: ``level x`` that run's p95 of the
endpoint, so the endpoint's p95 grows by about ``level`` (a constant delay shifts
every percentile by the same amount).

Measured:

- false alarms: disjoint pairs of identical runs (and, for more resolution, every
  ordered pair of identical runs: each as the baseline of each other) → how many
  fail the gate;
- detection: runs with +25% on one endpoint, each against the identical run just
  before it (and against every identical run) → how many fail;
- detection at other levels (+10%, +15%, +50%) against every identical run;
- wall time of ``bench run`` + gate.

A fresh store is slower for its first minute or so (caches warming up), so
``--warmup`` runs (default 2) are made and discarded first. Runs are then
interleaved (null, injected, null, ...) so any remaining drift of the store does
not masquerade as a regression or hide one. Usage::

    python benchmarks/gate_quality.py                    # ~20 minutes
    python benchmarks/gate_quality.py --pairs 1 --detect 1 --levels   # a quick try

Writes benchmarks/out/gate_quality.json and prints a table. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SCENARIO = HERE / "scenarios" / "smoke-gate.toml"
ENDPOINT = "GET /api/products/[id]"
RULE = "/api/products/<int:product_id>"
OUT = HERE / "out" / "gate_quality.json"


def bench_run(
    scenario: Path, host: str, reports: Path, duration: str | None = None
) -> tuple[Path, float]:
    """One ``bench run`` in a subprocess; (its run folder, wall seconds)."""
    before = set(reports.iterdir()) if reports.exists() else set()
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dhakacart_bench",
            "run",
            str(scenario),
            "--host",
            host,
            "--no-report",
            "-q",
            "--reports-dir",
            str(reports),
            *(["--duration", duration] if duration else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    new = sorted(set(reports.iterdir()) - before)
    if proc.returncode == 2 or len(new) != 1:
        raise SystemExit(f"bench run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return new[0], wall


def gate(run_dir: Path, baseline_dir: Path, endpoints: list[str] | None = None) -> Any:
    """The gate of ``run_dir`` against the run folder ``baseline_dir``."""
    from dhakacart_bench.gate.baseline import load_baseline
    from dhakacart_bench.gate.rules import evaluate_gate
    from dhakacart_bench.runfolder.reader import load_run

    return evaluate_gate(
        load_run(run_dir), baseline=load_baseline(baseline_dir), endpoints=endpoints
    )


def regression_rule(result: Any, endpoint: str) -> Any:
    return next(r for r in result.rules if r.kind == "regression" and r.endpoint == endpoint)


def summarise(results: list[Any], endpoint: str) -> dict[str, Any]:
    rules = [regression_rule(r, endpoint) for r in results]
    failed = sum(1 for r in rules if r.passed is False)
    insufficient = sum(1 for r in rules if r.decision == "insufficient data")
    changes = [r.regression.change_pct for r in rules if r.regression]
    noise = [r.regression.noise_pct for r in rules if r.regression]
    lows = [(r.regression.ci_low - 1) * 100 for r in rules if r.regression]
    return {
        "comparisons": len(rules),
        "gate_failed": failed,
        "any_rule_failed": sum(1 for r in results if r.exit_code == 1),
        "insufficient": insufficient,
        "change_pct_median": round(statistics.median(changes), 1) if changes else None,
        "change_pct_min": round(min(changes), 1) if changes else None,
        "change_pct_max": round(max(changes), 1) if changes else None,
        "ci_low_pct_median": round(statistics.median(lows), 1) if lows else None,
        "noise_pct_median": round(statistics.median(noise), 1) if noise else None,
    }


def analyse_pooled(record: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    """Gate every run against baselines pooled from ``k`` consecutive identical runs.

    A baseline never includes the run it gates. False alarms: identical runs;
    detection: injected runs, per level. ``confirmed_by_a_rerun`` counts pairs of
    consecutive runs (of one kind) that both fail: the rate if a failure had to
    reproduce on a re-run before it fails the deploy.
    """
    from dhakacart_bench.gate.baseline import baseline_from_runs
    from dhakacart_bench.gate.rules import evaluate_gate
    from dhakacart_bench.runfolder.reader import load_run

    runs = [r for r in record["runs"] if r["kind"] != "warmup"]
    nulls = [r for r in runs if r["kind"] in ("baseline", "null")]
    loaded = {r["dir"]: load_run(r["dir"]) for r in runs}
    out: dict[str, Any] = {}
    for k in sizes:
        groups = [nulls[i : i + k] for i in range(0, len(nulls) - k + 1, max(1, k // 2))]
        outcomes: dict[str, list[Any]] = {}
        confirmed: dict[str, list[int]] = {}  # label -> [both of two consecutive failed, pairs]
        for group in groups:
            base = baseline_from_runs([loaded[r["dir"]] for r in group])
            members = {r["dir"] for r in group}
            failed: dict[str, list[bool]] = {}
            for r in runs:
                if r["dir"] in members:
                    continue
                label = "null" if r in nulls else f"inject_{round(r['level'] * 100)}"
                result = evaluate_gate(loaded[r["dir"]], baseline=base, endpoints=["*", ENDPOINT])
                outcomes.setdefault(label, []).append(result)
                failed.setdefault(label, []).append(
                    regression_rule(result, ENDPOINT).passed is False
                )
            for label, flags in failed.items():
                tally = confirmed.setdefault(label, [0, 0])
                tally[0] += sum(a and b for a, b in itertools.pairwise(flags))
                tally[1] += max(0, len(flags) - 1)
        out[f"baseline_of_{k}_runs"] = {
            label: {
                **summarise(results, ENDPOINT),
                "confirmed_by_a_rerun": confirmed[label][0],
                "consecutive_pairs": confirmed[label][1],
            }
            for label, results in sorted(outcomes.items())
        }
        print(f"k={k}: " + json.dumps(out[f"baseline_of_{k}_runs"]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--pairs", type=int, default=10, help="disjoint identical pairs")
    parser.add_argument("--detect", type=int, default=10, help="runs at +25%%")
    parser.add_argument(
        "--levels", type=float, nargs="*", default=[0.10, 0.15, 0.50], help="other levels"
    )
    parser.add_argument("--per-level", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2, help="discarded runs first")
    parser.add_argument("--smoke-check", action="store_true", help="also run bundled smoke once")
    parser.add_argument("--duration", help="stretch the scenario to this length (e.g. 60s)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--pooled", type=int, nargs="*", default=[1, 3, 5], help="baseline sizes (runs) to try"
    )
    parser.add_argument(
        "--analyse", action="store_true", help="only re-analyse the runs recorded in --out"
    )
    args = parser.parse_args()
    if args.analyse:
        record = json.loads(args.out.read_text())
        record["pooled"] = analyse_pooled(record, args.pooled)
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        return

    from dhakacart_bench.runfolder.reader import load_run
    from dhakacart_bench.stats.hdr import hist_stats
    from dhakacart_bench.target.commands import StoreSettings
    from dhakacart_bench.target.process import ManagedStore

    reports = Path(tempfile.mkdtemp(prefix="gate-quality-"))
    settings = StoreSettings(products=50, workers=2, threads=8)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "scenario": str(args.scenario),
        "duration": args.duration,
        "endpoint": ENDPOINT,
        "runs": [],
    }
    with ManagedStore(settings) as store:
        print(f"store at {store.url}; run folders in {reports}", flush=True)

        def one(kind: str, level: float, delay_ms: float) -> Path:
            if delay_ms:
                store.set_faults({"latency_ms": {RULE: round(delay_ms, 3)}})
            else:
                store.reset_faults()
            folder, wall = bench_run(args.scenario, store.url, reports, args.duration)
            run = load_run(folder)
            t0 = time.perf_counter()
            gate_s = 0.0
            if record["runs"]:  # timing only: against the first run
                gate(folder, Path(record["runs"][0]["dir"]))
                gate_s = time.perf_counter() - t0
            row = {
                "dir": str(folder),
                "kind": kind,
                "level": level,
                "delay_ms": round(delay_ms, 3),
                "requests": run.summary.total.count,
                "endpoint_requests": next(
                    (e.count for e in run.summary.endpoints if e.name == ENDPOINT), 0
                ),
                "endpoint_p95_ms": hist_stats(run.histogram(ENDPOINT)).p95_ms,
                "p95_ms": run.summary.total.p95_ms,
                "run_wall_s": round(wall, 2),
                "gate_s": round(gate_s, 3),
            }
            record["runs"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "dir"}), flush=True)
            return folder

        if args.smoke_check:
            folder, wall = bench_run(Path("smoke"), store.url, reports)
            smoke = load_run(folder)
            result = gate(folder, folder)
            record["bundled_smoke"] = {
                "requests": smoke.summary.total.count,
                "per_endpoint": {e.name: e.count for e in smoke.summary.endpoints},
                "wall_s": round(wall, 2),
                "regression_rules": [
                    (r.endpoint, r.decision, r.message)
                    for r in result.rules
                    if r.kind == "regression"
                ],
                "validity": [r.message for r in result.rules if r.kind == "validity"],
            }
            print(json.dumps(record["bundled_smoke"]), flush=True)

        for _ in range(args.warmup):  # a fresh store is slower for its first minute or so
            one("warmup", 0.0, 0.0)
        base = one("baseline", 0.0, 0.0)
        base_p95 = hist_stats(load_run(base).histogram(ENDPOINT)).p95_ms or 0.0
        record["calibration_p95_ms"] = base_p95
        nulls: list[Path] = [base]
        detected: list[tuple[Path, Path]] = []  # (injected run, the null run just before)
        for i in range(max(args.pairs, args.detect)):
            if i < args.pairs:
                nulls.append(one("null", 0.0, 0.0))
            if i < args.detect:
                detected.append((one("inject", 0.25, 0.25 * base_p95), nulls[-1]))
            if i < args.pairs:
                nulls.append(one("null", 0.0, 0.0))
        level_runs: dict[float, list[Path]] = {}
        for level in args.levels:
            level_runs[level] = [
                one("inject", level, level * base_p95) for _ in range(args.per_level)
            ]
        store.reset_faults()

    endpoints = ["*", ENDPOINT]
    disjoint = [(nulls[1 + 2 * k], nulls[2 + 2 * k]) for k in range(args.pairs)]
    null_disjoint = [gate(b, a, endpoints) for a, b in disjoint]
    null_all = [gate(b, a, endpoints) for a, b in itertools.permutations(nulls, 2)]
    det_adjacent = [gate(run, before, endpoints) for run, before in detected]
    det_all = [gate(run, null, endpoints) for run, _ in detected for null in nulls]
    figures: dict[str, Any] = {
        "false_alarms_disjoint_pairs": summarise(null_disjoint, ENDPOINT),
        "false_alarms_all_pairs": summarise(null_all, ENDPOINT),
        "false_alarms_all_pairs_total": summarise(null_all, "*"),
        "detect_25_adjacent": summarise(det_adjacent, ENDPOINT),
        "detect_25_all_nulls": summarise(det_all, ENDPOINT),
    }
    for level, runs in level_runs.items():
        figures[f"detect_{round(level * 100)}_all_nulls"] = summarise(
            [gate(run, null, endpoints) for run in runs for null in nulls], ENDPOINT
        )
    walls = [r["run_wall_s"] + r["gate_s"] for r in record["runs"] if r["gate_s"]]
    gates = [r["gate_s"] for r in record["runs"] if r["gate_s"]]
    figures["wall_run_plus_gate_s"] = {
        "median": round(statistics.median(walls), 1) if walls else None,
        "max": round(max(walls), 1) if walls else None,
        "gate_median_s": round(statistics.median(gates), 3) if gates else None,
        "gate_max_s": round(max(gates), 3) if gates else None,
    }
    record["figures"] = figures
    record["pooled"] = analyse_pooled(record, args.pooled)
    record["total_wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    print(f"total {record['total_wall_s']} s; wrote {args.out}")


if __name__ == "__main__":
    main()
