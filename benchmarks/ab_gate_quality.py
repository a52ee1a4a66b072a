"""The paired A/B gate's quality, measured on real runs: two bundled stores per run.

Each run is ``bench run ab-smoke --against bundled --gate --p95-regression-pct 5`` in a
subprocess (both stores started by it, fresh databases), so the wall time includes both
stores' start. Every second run has a busy loop on one core beside it
(``timeout … python3 -c 'while True: pass'``, killed after the run). Kinds:

- ``aa``: identical arms → false alarms (exit 1);
- ``all10`` / ``all12`` / ``all15`` / ``all20``: the candidate's latency knob ``{"*": d}``
  on every endpoint, ``d`` a share of the A/A all-endpoints p95 (calibrated from the
  first A/A run's baseline arm), or ``--knob-ms`` — a sleep does not move the p95 by
  its own length (a closed loop hides part of it; in the open smoke a woken thread waits
  for a core too), so size it by what the gate then measures → caught?;
- ``one25`` / ``one50``: ``d`` = 25 % / 50 % of the product page's p95 (or ``--knob-ms``)
  on that endpoint only, judged with the ``*`` rule and one rule per endpoint → caught?,
  by which rule.

For every run the same candidate arm is also gated the old way — ``bench gate``'s
baseline-file rules against the baseline arm of the *first* A/A run (recorded at
another time) with the same +5 % margin — side by side.

Usage (in chunks under the measurement lock)::

    flock /tmp/dhakacart-measure.lock python benchmarks/ab_gate_quality.py --kind aa --runs 6
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_gate_quality.py --kind all10 --runs 6
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_gate_quality.py --kind all12 \
        --runs 10 --budget 300 --round 4   # a longer budget: the load is held for it
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_gate_quality.py --kind aa \
        --runs 10 --instance-spread 3.0 --round 8   # intervals widened by the spread
    python benchmarks/ab_gate_quality.py --table [--runs-of 7]   # and each run of round 7

Appends one JSON line per run to benchmarks/out/ab_gate_quality.jsonl. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _neighbours import busy_core  # noqa: E402

OUT = HERE / "out" / "ab_gate_quality.jsonl"
CALIBRATION = HERE / "out" / "ab_gate_calibration.json"
REPORTS = HERE / "out" / "ab_runs"
MARGIN = 5.0
PRODUCT = "GET /api/products/[id]"
PRODUCT_RULE = "/api/products/<int:product_id>"
ENDPOINTS = ["*", "GET /api/products", PRODUCT, "GET /api/products/search"]
#: added latency on every endpoint, as a share of the A/A all-endpoints p95
ALL_KINDS = {"all10": 0.10, "all12": 0.125, "all15": 0.15, "all20": 0.20}
#: added latency on the product page only, as a share of its A/A p95
ONE_KINDS = {"one25": 0.25, "one50": 0.50}


def ab_run(
    faults: dict[str, Any] | None,
    endpoints: list[str],
    busy: bool,
    budget_s: float | None,
    spread_pct: float | None = None,
) -> dict[str, Any]:
    """One A/B run in a subprocess; what it decided, when, and its wall time."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    before = set(REPORTS.iterdir())
    args = [
        sys.executable,
        "-m",
        "dhakacart_bench",
        "run",
        "ab-smoke",
        "--against",
        "bundled",
        "--gate",
        "--p95-regression-pct",
        str(MARGIN),
        "--no-report",
        "-q",
        "--reports-dir",
        str(REPORTS),
    ]
    if faults:
        args += ["--candidate-faults", json.dumps(faults)]
    if spread_pct is not None:  # the between-instance spread (bench calibrate)
        args += ["--instance-spread", f"{spread_pct:g}"]
    if budget_s is not None:  # longer than ab-smoke's 60 s: the load is held for it
        args += ["--max-duration", f"{budget_s:g}s"]
    limit = (budget_s or 60) + 180
    for endpoint in endpoints:
        args += ["--endpoint", endpoint]
    started = time.perf_counter()
    with busy_core(busy, limit + 60):
        proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=limit)
    wall = time.perf_counter() - started
    (run_dir,) = sorted(set(REPORTS.iterdir()) - before)
    gate = json.loads((run_dir / "gate.json").read_text())
    ab = json.loads((run_dir / "ab.json").read_text())
    rules = [r for r in gate["rules"] if r["metric"] == "p95_ms"]
    return {
        "run_dir": str(run_dir),
        "exit": proc.returncode,
        "decision": gate["decision"],
        "stopped_at_s": ab["stopped_at_s"],
        "duration_s": ab["duration_s"],
        "wall_s": round(wall, 1),
        "busy": busy,
        "rules": {
            r["endpoint"]: {
                "status": r["status"],
                "decision": r["decision"],
                "message": r["message"],
                # the p95 ratio candidate / baseline and its interval at the deciding look
                **{k: (r.get("regression") or {}).get(k) for k in ("ratio", "ci_low", "ci_high")},
            }
            for r in rules
        },
    }


def old_gate(run_dir: Path, baseline_dir: Path, endpoints: list[str]) -> dict[str, Any]:
    """Today's baseline-file gate: the candidate arm against an arm recorded earlier."""
    from dhakacart_bench.gate.baseline import load_baseline
    from dhakacart_bench.gate.rules import evaluate_gate
    from dhakacart_bench.runfolder.reader import load_run

    result = evaluate_gate(
        load_run(run_dir / "candidate"),
        baseline=load_baseline(baseline_dir / "baseline"),
        p95_regression_pct=MARGIN,
        endpoints=endpoints,
    )
    failed = [r.endpoint for r in result.rules if r.kind == "regression" and r.passed is False]
    return {"decision": result.decision, "failed": failed}


def calibrate(run_dir: Path) -> dict[str, Any]:
    from dhakacart_bench.runfolder.reader import load_run

    run = load_run(run_dir / "baseline")
    rows = {r.name: r for r in run.summary.endpoints}
    cal = {
        "from": str(run_dir),
        "p95_total_ms": run.summary.total.p95_ms,
        "p95_product_ms": rows[PRODUCT].p95_ms,
    }
    CALIBRATION.write_text(json.dumps(cal, indent=1))
    return cal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["aa", *ALL_KINDS, *ONE_KINDS])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--table", action="store_true")
    parser.add_argument(
        "--runs-of", metavar="ROUND", help="one line per run of this round (with --table)"
    )
    parser.add_argument(
        "--budget", type=float, help="the A/B time budget in seconds (default: ab-smoke's 60)"
    )
    parser.add_argument("--round", default="", help="a label kept with each run, for --table")
    parser.add_argument(
        "--knob-ms", type=float, help="the latency knob in ms, instead of a share of the A/A p95"
    )
    parser.add_argument(
        "--instance-spread", type=float, help="the gate's between-instance spread, percent"
    )
    args = parser.parse_args()
    if args.table:
        rows = [json.loads(line) for line in OUT.read_text().splitlines()]
        table(rows)
        if args.runs_of is not None:
            runs_of(rows, args.runs_of)
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    done = [json.loads(line) for line in OUT.read_text().splitlines()] if OUT.exists() else []
    cal = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else None
    if cal is None and args.kind != "aa":
        raise SystemExit("run --kind aa first: it calibrates the latency knob")
    for number in range(args.runs):
        busy = (len(done) + number) % 2 == 1
        faults, endpoints = None, ["*"]
        if args.kind in ALL_KINDS:
            share = ALL_KINDS[args.kind]
            knob = args.knob_ms or round(share * cal["p95_total_ms"], 3)
            faults = {"latency_ms": {"*": knob}}
        elif args.kind in ONE_KINDS:
            share = ONE_KINDS[args.kind]
            knob = args.knob_ms or round(share * cal["p95_product_ms"], 3)
            faults = {"latency_ms": {PRODUCT_RULE: knob}}
            endpoints = ENDPOINTS
        row = ab_run(faults, endpoints, busy, args.budget, args.instance_spread)
        if cal is None:
            cal = calibrate(Path(row["run_dir"]))
        row.update(
            kind=args.kind,
            round=args.round,
            budget_s=args.budget or 60,
            faults=faults,
            spread_pct=args.instance_spread or 0.0,
            # a longer budget holds the load longer: not the baseline's scenario any more
            old=(
                old_gate(Path(row["run_dir"]), Path(cal["from"]), endpoints)
                if args.budget in (None, 60)
                else {"decision": "not run (another length than the baseline)", "failed": []}
            ),
        )
        with OUT.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(
            f"{args.kind} busy={busy} exit={row['exit']} {row['decision']}"
            f" at {row['stopped_at_s']} s,"
            f" wall {row['wall_s']} s; old gate {row['old']['decision']}",
            flush=True,
        )


def table(rows: list[dict[str, Any]]) -> None:
    print(
        "| round | injected | budget (s) | runs (busy) | A/B gate FAIL | A/B decided (s, median)"
        " | A/B wall (s, median) | old gate FAIL | measured p95 change, all endpoints"
        " (median; min … max) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row.get("round", ""), row["kind"], row.get("budget_s", 60))
        groups.setdefault(key, []).append(row)
    for (label, kind, budget), sel in groups.items():
        fails = sum(r["exit"] == 1 for r in sel)
        invalid = sum(r["exit"] == 3 for r in sel)
        stops = [r["stopped_at_s"] for r in sel if r["stopped_at_s"] is not None]
        old = sum(r["old"]["decision"] == "FAIL" for r in sel)
        old_invalid = sum(r["old"]["decision"] == "INVALID" for r in sel)
        med = (
            f"{statistics.median(stops):.0f} ({len(stops)} stopped early)"
            if stops
            else "— (none early)"
        )
        print(
            f"| {label or '—'} | {kind} | {budget:g} | {len(sel)} ({sum(r['busy'] for r in sel)})"
            f" | {fails}{f' (+{invalid} exit 3)' if invalid else ''} | {med}"
            f" | {statistics.median(r['wall_s'] for r in sel):.0f}"
            f" | {old} ({old_invalid} INVALID) | {_changes(sel)} |"
        )


def runs_of(rows: list[dict[str, Any]], label: str) -> None:
    """Each run of one round: quiet or busy, its decision and when, and every p95 rule's
    measured change and status (which rule caught a one-endpoint regression)."""
    print("\n| kind | busy | exit | decided (s) | wall (s) | p95 rules: change, status |")
    print("|---|---|---|---|---|---|")
    for row in (r for r in rows if r.get("round", "") == label):
        rules = "; ".join(
            f"{name} {((rule.get('ratio') or 1) - 1) * 100:+.1f} % {rule['status']}"
            for name, rule in row["rules"].items()
        )
        print(
            f"| {row['kind']} | {'busy' if row['busy'] else 'quiet'} | {row['exit']}"
            f" | {row['stopped_at_s'] if row['stopped_at_s'] is not None else '—'}"
            f" | {row['wall_s']:.0f} | {rules} |"
        )


def _changes(rows: list[dict[str, Any]]) -> str:
    """The all-endpoints p95 change the gate measured at its deciding look (runs recorded
    before the ratio was kept show as not recorded)."""
    ratios = [r["rules"].get("*", {}).get("ratio") for r in rows]
    changes = [(x - 1) * 100 for x in ratios if x is not None]
    if not changes:
        return "not recorded"
    return (
        f"{statistics.median(changes):+.1f} % ({min(changes):+.1f} … {max(changes):+.1f});"
        f" {len(changes)} runs"
    )


if __name__ == "__main__":
    main()
