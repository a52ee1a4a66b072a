"""How far two *identical* bundled stores differ for a whole A/B run, and whether that
difference lives in each store's worker process.

Each run is an A/A run of ab-smoke (``bench run ab-smoke --against bundled --gate``,
both stores fresh, no early stop: ``--ab-min-seconds 60s``). Per run, the all-endpoints
log p95 ratio and its paired within-run standard error, judged as ``bench calibrate``
judges a folder (:func:`dhakacart_bench.gate.ab_spread.aa_run`). Over runs of one
condition, the spread between instances is what the ratios vary by beyond their own
within-run noise: ``sqrt(mean(log ratio²) - mean(se²))``
(:func:`dhakacart_bench.stats.spread.instance_spread`, the estimate ``bench calibrate``
gives). Conditions, interleaved run by run (so drifts of the machine hit
both), every other pair of runs beside a busy loop on one core:

- ``one``: one gunicorn worker process per store (8 threads; ab-smoke until round 8);
- ``two``: two worker processes per store (4 threads each: the same 8 threads; ab-smoke
  since round 8), each store with its own random hash seed — only at commits before
  round 9: since then ``bench run --against bundled`` gives both stores one seed, so
  ``two`` runs as ``seed`` does;
- ``seed``: as ``two``, both stores started with one PYTHONHASHSEED, a new one each run
  (set in bench's environment, which both stores inherit; what bench does since);
- ``seed4``: one seed, four worker processes x 2 threads per store (the same 8 threads):
  does what is left after the seed live in the processes (placement, layout)?

If the difference lives in the worker *process* (its memory layout, where the scheduler
keeps it), two processes per arm average it and the spread falls by ~1/sqrt(2); if it
lives in the instance (its database file, its port, its hash seed — a gunicorn master's
forked workers share it), it does not; a shared seed takes out the seed's part. (Replacing the
worker every few hundred requests — gunicorn's ``max_requests`` — was tried first and
dropped: with one worker each replacement left the store unserved for 0.3-0.5 s, a p95
of 300-500 ms in that second, and a within-run SE of 89 %.)

Usage::

    flock /tmp/dhakacart-measure.lock python benchmarks/ab_instance_spread.py --runs 12
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_instance_spread.py --runs 10 \
        --only two seed --quiet          # round 9: interleaved, no busy loop
    python benchmarks/ab_instance_spread.py --table [--structure] [--judge]
        # --structure: steady lean or slow noise (block sizes, halves); --judge: each A/A run's
        # looks replayed as the live gate's (+5 % margin), with the spread calibrated from
        # the other runs of its condition (leave one out) and without any

Appends one JSON line per run to benchmarks/out/ab_instance_spread.jsonl; folders under
benchmarks/out/ab_instance_spread/. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _neighbours import busy_core  # noqa: E402

from dhakacart_bench.gate.ab_spread import AARun, aa_run, judged_cells  # noqa: E402
from dhakacart_bench.measure.ab import shared_hash_seed  # noqa: E402
from dhakacart_bench.runfolder.ab import read_ab_json  # noqa: E402
from dhakacart_bench.stats.spread import instance_spread  # noqa: E402

OUT = HERE / "out" / "ab_instance_spread.jsonl"
REPORTS = HERE / "out" / "ab_instance_spread"
#: condition -> the [store] lines of ab-smoke it runs with
CONDITIONS: dict[str, str] = {
    "one": "workers = 1\nthreads = 8",
    "two": "workers = 2\nthreads = 4",
    "seed": "workers = 2\nthreads = 4",
    "seed4": "workers = 4\nthreads = 2",
}
#: conditions whose two stores start with one hash seed (a new one each run)
SHARED_SEED = {"seed", "seed4"}


def scenario_file(condition: str, folder: Path) -> Path:
    shipped = (ROOT / "scenarios" / "ab-smoke.toml").read_text()
    shoppers = ROOT / "locustfiles" / "shoppers.py"
    text = shipped.replace('locustfile = "shoppers.py"', f'locustfile = "{shoppers}"')
    text = re.sub(r"workers = \d+\nthreads = \d+", CONDITIONS[condition], text, count=1)
    path = folder / f"ab-smoke-{condition}.toml"
    path.write_text(text)
    return path


def run_aa(condition: str, busy: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    seed = None
    if condition in SHARED_SEED:  # both stores inherit bench's environment
        seed = shared_hash_seed({})  # a fresh one, drawn as bench draws it
        env["PYTHONHASHSEED"] = str(seed)
    folder_of = REPORTS / condition
    folder_of.mkdir(parents=True, exist_ok=True)
    before = {p for p in folder_of.iterdir() if p.is_dir()}
    scenario = scenario_file(condition, REPORTS)
    args = [sys.executable, "-m", "dhakacart_bench", "run", str(scenario), "--against", "bundled",
            "--gate", "--p95-regression-pct", "5", "--ab-min-seconds", "60s", "--no-report",
            "-q", "--reports-dir", str(folder_of)]  # fmt: skip
    started = time.perf_counter()
    with busy_core(busy, 300):
        proc = subprocess.run(args, capture_output=True, text=True, timeout=240, env=env)
    wall = time.perf_counter() - started
    (folder,) = sorted({p for p in folder_of.iterdir() if p.is_dir()} - before)
    judged = aa_run(folder, ["*"])
    return {
        "condition": condition,
        "busy": busy,
        "hash_seed": seed,
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "folder": str(folder),
        "change_pct": math.expm1(judged.log_ratio["*"]) * 100,
        "se_paired": judged.se_within["*"],
    }


def judged_runs(rows: list[dict[str, Any]]) -> dict[str, list[AARun]]:
    """Per condition, each recorded folder judged whole once (as ``bench calibrate`` does)."""
    return {
        condition: [aa_run(Path(r["folder"]), ["*"]) for r in rows if r["condition"] == condition]
        for condition in CONDITIONS
    }


def table(runs_of: dict[str, list[AARun]]) -> None:
    print("| condition | runs | median change | sd of log ratio | RMS within-run SE"
          " | between instances (90 % upper) | runs whose 95 % interval excludes 1 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for condition, mine in runs_of.items():
        if len(mine) < 3:
            continue
        logs = [r.log_ratio["*"] for r in mine]
        ses = [r.se_within["*"] for r in mine]
        spread = instance_spread(logs, ses)
        outside = sum(abs(x) > 1.96 * se for x, se in zip(logs, ses, strict=True))
        median = math.expm1(statistics.median(logs)) * 100
        rms_se = math.sqrt(statistics.fmean(s * s for s in ses))
        print(
            f"| {condition} | {len(mine)} | {median:+.1f} % | {statistics.stdev(logs):.1%}"
            f" | {rms_se:.1%} | {spread.sd:.1%} ({spread.upper:.1%}) | {outside} of {len(mine)} |"
        )


def _log_ratio(cand: dict[int, Any], base: dict[int, Any], block_s: int = 1) -> tuple[float, float]:
    from dhakacart_bench.stats.paired import paired_compare

    stats = paired_compare(cand, base, z=1.96, resamples=1000, block_s=block_s)
    assert stats is not None
    return math.log(stats.ratio), stats.se_within


def structure(runs_of: dict[str, list[AARun]]) -> None:
    """Is an A/A run's lean steady or slow noise? Per condition: the within-run SE from
    resampling seconds (each run's as judged whole) and from resampling 5 s and 10 s
    blocks (slow noise would widen the latter), and how the two halves of each run lean
    (steady: correlated)."""
    print("\n| condition | runs | rms log ratio | rms SE, 1 s blocks | 5 s | 10 s"
          " | halves' correlation |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for condition, runs in runs_of.items():
        if len(runs) < 3:
            continue
        halves, ses = [], {5: [], 10: []}
        for run in runs:
            cand, base = (arm["*"] for arm in judged_cells(run.folder, read_ab_json(run.folder)))
            seconds = sorted(set(cand) & set(base))
            mid = seconds[len(seconds) // 2]
            parts = [[s for s in seconds if s < mid], [s for s in seconds if s >= mid]]
            halves.append(
                [_log_ratio({s: cand[s] for s in p}, {s: base[s] for s in p})[0] for p in parts]
            )
            for block_s, into in ses.items():
                into.append(_log_ratio(cand, base, block_s)[1])
        rms = {k: math.sqrt(statistics.fmean(s * s for s in v)) for k, v in ses.items()}
        rms_se = math.sqrt(statistics.fmean(r.se_within["*"] ** 2 for r in runs))
        rms_log = math.sqrt(statistics.fmean(r.log_ratio["*"] ** 2 for r in runs))
        corr = statistics.correlation([h[0] for h in halves], [h[1] for h in halves])
        print(f"| {condition} | {len(runs)} | {rms_log:.1%} | {rms_se:.1%} | {rms[5]:.1%}"
              f" | {rms[10]:.1%} | {corr:+.2f} |")  # fmt: skip


def sequential(folder: Path, spread: float) -> tuple[str | None, float]:
    """The live gate's decision on this A/A folder (looks every 5 s from 15 s to 60 s,
    ab-smoke's plan, margin +5 %, ``*``), replayed offline, and when it came."""
    from dhakacart_bench.gate.ab_cells import cells_of_run, upto
    from dhakacart_bench.gate.ab_judge import rules_of
    from dhakacart_bench.runfolder.ab import ARMS, read_ab_json
    from dhakacart_bench.runfolder.reader import load_run
    from dhakacart_bench.stats.sequential import DEFAULT_HSD_GAMMA, LookPlan

    meta = read_ab_json(folder)
    plan = LookPlan(min_s=15, every_s=5, max_s=60, min_requests=1000, alpha=0.05,
                    warmup_s=5, hsd_gamma=DEFAULT_HSD_GAMMA)  # fmt: skip
    rules = rules_of(meta, plan=plan, spread=spread, margin_pct=5.0, endpoints=("*",))
    cand, base = (cells_of_run(load_run(meta.arm_dir(folder, arm))) for arm in ARMS)
    for t in plan.look_times():
        last = int(t) - 1
        look = rules.judge(upto(cand, last), upto(base, last), t, last, final=t >= plan.max_s)
        if look.decision is not None:
            return look.decision, t
    return None, plan.max_s


def judge(runs_of: dict[str, list[AARun]]) -> None:
    """Leave one out: each A/A run judged as the live gate would, with the spread
    calibrated from the *other* runs of its condition, and with none."""
    for condition, runs in runs_of.items():
        if len(runs) < 4:
            continue
        folders = [r.folder for r in runs]
        print(f"\n{condition}: A/A runs judged live-style (margin +5 %), spread from the others")
        print("| run | spread from the others | decision with it | decision without |")
        print("|---|---:|---|---|")
        fails = {"with": 0, "without": 0}
        for i, folder in enumerate(folders):
            others = runs[:i] + runs[i + 1 :]
            spread = instance_spread(
                [r.log_ratio["*"] for r in others], [r.se_within["*"] for r in others]
            ).sd
            with_it, t_with = sequential(folder, spread)
            without, t_without = sequential(folder, 0.0)
            fails["with"] += with_it == "FAIL"
            fails["without"] += without == "FAIL"
            print(f"| {folder.name} | {spread:.1%} | {with_it} at {t_with:g} s"
                  f" | {without} at {t_without:g} s |")  # fmt: skip
        print(
            f"false FAILs: {fails['with']} with the spread, {fails['without']} without,"
            f" of {len(folders)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=0, help="runs per condition")
    parser.add_argument("--only", choices=list(CONDITIONS), nargs="+", help="these conditions")
    parser.add_argument("--quiet", action="store_true", help="no run beside the busy loop")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--judge", action="store_true", help="replay each A/A run's looks")
    parser.add_argument(
        "--structure", action="store_true", help="block sizes and halves: steady or slow noise"
    )
    args = parser.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for number in range(args.runs):
        for condition in args.only or CONDITIONS:
            row = run_aa(condition, busy=not args.quiet and number % 2 == 1)
            with OUT.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
    runs_of = judged_runs(rows)
    if args.table or not args.runs:
        table(runs_of)
    if args.structure:
        structure(runs_of)
    if args.judge:
        judge(runs_of)


if __name__ == "__main__":
    main()
