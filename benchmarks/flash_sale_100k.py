"""The full flash sale: 100,000 users on this machine, master + N local workers.

Runs ``bench run flash-sale --users 100000 --workers N`` against the bundled
store (which the runner sets up for many connections: gevent workers, one
loopback address per load worker) and watches the process tree meanwhile:
peak resident memory of all load-generator processes together (master +
workers) and of the store. Afterwards it reads the run folder and prints:
users reached, time to spawn them, requests served, the generator self-check,
and what the report concluded about the store.

    python benchmarks/flash_sale_100k.py [--users 100000] [--workers 8|auto] [--duration 150s]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def tree_rss(root: psutil.Process) -> tuple[int, int, int]:
    """(generator RSS, store RSS, generator processes) in bytes, over root's descendants."""
    generator = store = count = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    for proc in processes:
        try:
            cmdline = " ".join(proc.cmdline())
            rss = proc.memory_info().rss
        except psutil.Error:
            continue
        if "gunicorn" in cmdline or "target_app" in cmdline:
            store += rss
        else:
            generator += rss
            count += 1
    return generator, store, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workers", default="8", help="a count, or auto")
    parser.add_argument("--duration", default=None, help="squeeze the stages (e.g. 150s)")
    args = parser.parse_args()
    reports = Path(tempfile.mkdtemp(prefix="bench-100k-"))
    cmd = [sys.executable, "-m", "dhakacart_bench", "run", "flash-sale",
           "--users", str(args.users), "--workers", str(args.workers),
           "--reports-dir", str(reports), "--progress-every", "15"]  # fmt: skip
    if args.duration:
        cmd += ["--duration", args.duration]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    peak = {"generator": 0, "store": 0, "processes": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            generator, store, count = tree_rss(root)
            peak["generator"] = max(peak["generator"], generator)
            peak["store"] = max(peak["store"], store)
            peak["processes"] = max(peak["processes"], count)
            done.wait(1.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    output = proc.stdout.read() if proc.stdout else ""
    code = proc.wait()
    done.set()
    watcher.join()
    wall = time.monotonic() - started
    print(output[-6000:])
    run_dir = next(reports.iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    total = json.loads((run_dir / "summary.json").read_text())["total"]
    import csv

    rows = list(csv.DictReader((run_dir / "timeseries.csv").open()))
    peak_users = max(int(r["users"] or 0) for r in rows)
    first_full = next(int(r["second"]) for r in rows if int(r["users"] or 0) >= peak_users)
    first_any = next(int(r["second"]) for r in rows if int(r["users"] or 0) > 0)
    gen = meta["generator"]
    print("---")
    print(f"exit code {code}; wall {wall:.0f} s; run folder {run_dir}")
    print(
        f"users reached {peak_users:,} of {args.users:,}; all spawned {first_full - first_any} s"
        f" after the first (t={first_full} s)"
    )
    print(
        f"peak RSS: generator {peak['generator'] / 2**30:.2f} GiB over {peak['processes']}"
        f" processes ({peak['generator'] / max(peak_users, 1) / 1024:.1f} KiB per user);"
        f" store {peak['store'] / 2**30:.2f} GiB"
    )
    print(
        f"requests {total['count']:,} ({total['failures']:,} failed), {total['rps']:.0f} req/s,"
        f" p95 {total['p95_ms']} ms"
    )
    print(
        f"run.json generator.peak_rss_mib {gen.get('peak_rss_mib')} over"
        f" master + {(meta.get('workers') or {}).get('expected')} worker(s)"
    )
    print(f"generator saturated: {gen['saturated']} ({gen.get('reason')})")
    print(f"verdict: {meta.get('verdict')}")
    print(f"invariants ok: {(meta.get('invariants') or {}).get('ok')}")


if __name__ == "__main__":
    main()
