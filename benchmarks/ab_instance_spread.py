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
- ``seed200``: as ``seed``, with a pool of 200 users (100 per arm) instead of 40: each
  store holds 100 keep-alive connections instead of 20, so however its workers happen to
  split them (the kernel hands each new connection to whichever worker accepts first;
  benoitc/gunicorn#3071, #2817), their shares of the load are closer to even.

- ``churn``: as ``seed``, each user closing its connection after every 25 requests
  (``[gate] ab_reconnect_every = 25``; ~every 5 s at ab-smoke's rate), so the split is
  drawn afresh ~240 times per arm per run instead of once.

``--connections`` counts, twice per run, each store worker's established client
connections (psutil), so ``--table --connections`` can set how an arm's connections
split over its workers beside how that arm leaned.

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
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_instance_spread.py --runs 6 \
        --only seed seed200 --connections   # round 10: the connections' split
    python benchmarks/ab_instance_spread.py --table [--structure] [--judge] [--connections]
        # --structure: steady lean or slow noise (block sizes, halves); --judge: each A/A run's
        # looks replayed as the live gate's (+5 % margin), with the spread calibrated from
        # the other runs of its condition (leave one out) and without any

Appends one JSON line per run to benchmarks/out/ab_instance_spread.jsonl; folders under
benchmarks/out/ab_instance_spread/. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    "seed200": "workers = 2\nthreads = 4",
    "churn": "workers = 2\nthreads = 4",
}
#: conditions whose two stores start with one hash seed (a new one each run)
SHARED_SEED = {"seed", "seed4", "seed200", "churn"}
#: conditions with a larger pool of users (ab-smoke: 40, 20 per arm), so each store holds
#: more keep-alive connections and their split over its workers evens out
MAX_USERS = {"seed200": 200}
#: conditions whose users reconnect every N requests ([gate] ab_reconnect_every)
RECONNECT = {"churn": 25}


def scenario_file(condition: str, folder: Path) -> Path:
    shipped = (ROOT / "scenarios" / "ab-smoke.toml").read_text()
    shoppers = ROOT / "locustfiles" / "shoppers.py"
    text = shipped.replace('locustfile = "shoppers.py"', f'locustfile = "{shoppers}"')
    text = re.sub(r"workers = \d+\nthreads = \d+", CONDITIONS[condition], text, count=1)
    if condition in MAX_USERS:
        text = re.sub(r"max_users = \d+", f"max_users = {MAX_USERS[condition]}", text, count=1)
    # [gate] is ab-smoke's last table; conditions other than RECONNECT's keep one
    # connection per user for the run (as every round before 10), whatever ab-smoke ships
    text = re.sub(r"\nab_reconnect_every = \d+[^\n]*", "", text)
    text = text.rstrip("\n") + f"\nab_reconnect_every = {RECONNECT.get(condition, 0)}\n"
    path = folder / f"ab-smoke-{condition}.toml"
    path.write_text(text)
    return path


def run_aa(condition: str, busy: bool, connections: bool = False) -> dict[str, Any]:
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
    places: list[dict[str, Any]] = []
    with busy_core(busy, 300):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)  # fmt: skip
        if connections:
            for at in CONNECTION_SAMPLES_S:  # while the load runs (it starts after ~4 s)
                try:
                    proc.wait(timeout=max(0.0, at - (time.perf_counter() - started)))
                    break
                except subprocess.TimeoutExpired:
                    places.append(placement(proc.pid))
        proc.communicate(timeout=240)
    wall = time.perf_counter() - started
    (folder,) = sorted({p for p in folder_of.iterdir() if p.is_dir()} - before)
    judged = aa_run(folder, ["*"])
    meta = read_ab_json(folder)
    ports = {urlsplit(arm.url).port: name for name, arm in meta.arms.items()}
    placed = [
        {"hog": p["hog"], **{ports[int(k)]: v for k, v in p["ports"].items() if int(k) in ports}}
        for p in places
    ]
    # each worker's connections, busiest first (placement's rows are sorted so)
    split = [{arm: [w[0] for w in p[arm]] for arm in ports.values() if arm in p} for p in placed]
    return {
        "condition": condition,
        "busy": busy,
        "hash_seed": seed,
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "folder": str(folder),
        "change_pct": math.expm1(judged.log_ratio["*"]) * 100,
        "se_paired": judged.se_within["*"],
        # per arm, each worker process's established connections, at CONNECTION_SAMPLES_S
        "split": split,
        # per arm, each worker's (connections, last CPU, CPU-seconds so far, schedstat
        # run and wait seconds so far), and the busy loop's CPU, at the same moments
        "placement": placed,
    }


#: seconds into a run (from the bench process's start) at which --connections counts
CONNECTION_SAMPLES_S = (25.0, 50.0)


def store_workers(bench_pid: int) -> Iterator[tuple[set[int], list[Any]]]:
    """Each bundled store under ``bench_pid``: its gunicorn master's listening ports and
    its worker processes (psutil; a store that is gone is skipped)."""
    import psutil

    try:
        tree = psutil.Process(bench_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for master in tree:
        try:
            ports = {c.laddr.port for c in master.net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN}  # fmt: skip
            workers = master.children()
        except psutil.NoSuchProcess:
            continue
        if ports and workers:
            yield ports, workers


def _established(worker: Any) -> int:
    import psutil

    return sum(c.status == psutil.CONN_ESTABLISHED for c in worker.net_connections("tcp"))


def schedstat(pid: int) -> tuple[float, float]:
    """A process's CPU time and its time runnable but waiting for a CPU (seconds, summed
    over its threads; /proc/PID/task/TID/schedstat): how long the scheduler kept it off."""
    run = wait = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        run, wait = run + int(fields[0]), wait + int(fields[1])
    return round(run / 1e9, 3), round(wait / 1e9, 3)


def placement(bench_pid: int) -> dict[str, Any]:
    """Which CPU each store worker (by listening port, busiest first) and the busy loop
    were last on: does one arm's busy worker share the busy loop's core?"""
    import psutil

    where: dict[str, Any] = {"hog": None, "ports": {}}
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] and "while True: pass" in " ".join(proc.info["cmdline"]):
            with contextlib.suppress(psutil.NoSuchProcess):
                where["hog"] = proc.cpu_num()
    for ports, workers in store_workers(bench_pid):
        try:
            rows = sorted(
                (_established(w), w.cpu_num(), round(sum(w.cpu_times()[:2]), 2),
                 *schedstat(w.pid))
                for w in workers
            )[::-1]  # fmt: skip
        except psutil.NoSuchProcess:
            continue
        # per worker, busiest first: connections, last CPU, CPU-seconds, then schedstat's
        # run and wait
        where["ports"][str(min(ports))] = rows
    return where


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


def _top_share(samples: list[dict[str, list[int]]], arm: str) -> float | None:
    """The busiest worker's share of an arm's connections, averaged over the samples."""
    shares = [max(s[arm]) / sum(s[arm]) for s in samples if sum(s.get(arm, [])) > 0]
    return statistics.fmean(shares) if shares else None


def split_table(rows: list[dict[str, Any]]) -> None:
    """Does an A/A run's lean follow how each store's connections split over its
    workers? Per run with ``--connections`` samples: the split, and over the runs the
    correlation of the log ratio with the candidate's minus the baseline's busiest-worker
    share."""
    print("\n| condition | busy | change | candidate's split | baseline's split |")
    print("|---|---|---:|---|---|")
    per: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        if not r.get("split"):
            continue
        cand, base = _top_share(r["split"], "candidate"), _top_share(r["split"], "baseline")
        splits = [
            " / ".join("+".join(map(str, s.get(arm, []))) for s in r["split"])
            for arm in ("candidate", "baseline")
        ]
        print(f"| {r['condition']} | {r['busy']} | {r['change_pct']:+.1f} % | {splits[0]}"
              f" | {splits[1]} |")  # fmt: skip
        if cand is not None and base is not None:
            per.setdefault(r["condition"], []).append((math.log1p(r["change_pct"] / 100),
                                                       cand - base))  # fmt: skip
    correlations(per, "busiest-worker share difference")


def correlations(per: dict[str, list[tuple[float, float]]], against: str) -> None:
    """Per condition with 3 runs or more: the correlation of each run's log ratio with
    the figure it is paired with."""
    for condition, pairs in per.items():
        if len(pairs) >= 3:
            corr = statistics.correlation([a for a, _ in pairs], [b for _, b in pairs])
            print(f"{condition}: log ratio vs {against}, correlation {corr:+.2f}"
                  f" over {len(pairs)} runs")  # fmt: skip


def _waited(placed: list[dict[str, Any]], arm: str) -> tuple[float, float] | None:
    """An arm's store workers' CPU time and run-queue wait between the two samples."""
    if len(placed) < 2 or arm not in placed[0] or arm not in placed[1]:
        return None
    (first, last) = (sum(w[3] for w in p[arm]) for p in placed[:2])
    (w_first, w_last) = (sum(w[4] for w in p[arm]) for p in placed[:2])
    return last - first, w_last - w_first


def placement_table(rows: list[dict[str, Any]]) -> None:
    """Did the scheduler keep one arm off the CPU more than the other? Per run with
    ``--connections`` samples: each arm's store workers' run-queue wait per CPU-second
    between the samples, and over the runs the correlation of the log ratio with the log
    of the candidate's over the baseline's wait."""
    print("\n| condition | busy | change | candidate: wait per CPU-s | baseline | log wait ratio |")
    print("|---|---|---:|---:|---:|---:|")
    per: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        got = {arm: _waited(r.get("placement") or [], arm) for arm in ("candidate", "baseline")}
        if any(g is None or g[0] <= 0 or g[1] <= 0 for g in got.values()):
            continue
        per_cpu = {arm: g[1] / g[0] for arm, g in got.items() if g is not None}
        lw = math.log(per_cpu["candidate"] / per_cpu["baseline"])
        print(f"| {r['condition']} | {r['busy']} | {r['change_pct']:+.1f} % |"
              f" {per_cpu['candidate']:.2f} | {per_cpu['baseline']:.2f} | {lw:+.2f} |")  # fmt: skip
        per.setdefault(r["condition"], []).append((math.log1p(r["change_pct"] / 100), lw))
    correlations(per, "log wait ratio")


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
    parser.add_argument(
        "--connections",
        action="store_true",
        help="count each store worker's client connections twice per run (the split)",
    )
    args = parser.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for number in range(args.runs):
        for condition in args.only or CONDITIONS:
            row = run_aa(condition, not args.quiet and number % 2 == 1, args.connections)
            with OUT.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
    runs_of = judged_runs(rows)
    if args.table or not args.runs:
        table(runs_of)
    if args.structure:
        structure(runs_of)
    if args.connections:
        split_table(rows)
        placement_table(rows)
    if args.judge:
        judge(runs_of)


if __name__ == "__main__":
    main()
