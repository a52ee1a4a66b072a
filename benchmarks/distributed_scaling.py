"""Distributed scaling: CPU per request with 0 (single process), 1, 2 and 4 local workers.

The same fixed offered load (benchmarks/scenarios/overhead.toml: 50 users x 20
req/s = 1,000 req/s) against a private nginx that is never the bottleneck, so
differences are the cost of distribution: the master, ZeroMQ reports, shipping
and merging encoded HDR windows. CPU is user+sys of the whole process tree
(rusage of waited children includes their waited children). Start-up is
removed as in recorder_overhead.py: (CPU_long - CPU_short) / (req_long - req_short).

    python benchmarks/distributed_scaling.py [--short 10] [--long 40] [--workers 0 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import nginx  # noqa: E402

SCENARIO = HERE / "scenarios" / "overhead.toml"


def run(host: str, seconds: int, workers: int, reports: Path) -> tuple[float, int, float]:
    cmd = [
        sys.executable, "-m", "dhakacart_bench", "run", str(SCENARIO), "--host", host,
        "--duration", f"{seconds}s", "--no-report", "--quiet", "--reports-dir", str(reports),
        "--workers", str(workers),
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"bench failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    newest = max(reports.iterdir(), key=lambda p: p.stat().st_mtime)
    summary = json.loads((newest / "summary.json").read_text())
    return cpu, int(summary["total"]["count"]), float(summary["total"]["p99_ms"] or 0)


def run_locust(host: str, seconds: int, workers: int) -> tuple[float, int]:
    """Plain Locust, the same locustfile: one process, or a master + --processes workers."""
    locustfile = HERE / "locustfiles" / "overhead.py"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "50",
        "-r", "50", "-t", f"{seconds}s", "--host", host, "--json", "--skip-log",
        "--stop-timeout", "5",
    ]  # fmt: skip
    if workers:
        cmd += ["--processes", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # with --processes every forked process prints its own JSON list; the master's is the sum
    decoder, text, totals, at = json.JSONDecoder(), proc.stdout.strip(), [], 0
    while at < len(text):
        stats, at = decoder.raw_decode(text, at)
        totals.append(sum(int(entry["num_requests"]) for entry in stats))
        while at < len(text) and text[at].isspace():
            at += 1
    return cpu, max(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument(
        "--compare-locust",
        action="store_true",
        help="also run plain Locust (--processes N) at each size: what bench adds on top",
    )
    args = parser.parse_args()
    base = None
    with nginx(workers=1) as host, tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            short = run(host, args.short, workers, Path(tmp))
            long = run(host, args.long, workers, Path(tmp))
            per_request = (long[0] - short[0]) / (long[1] - short[1]) * 1000
            rps = (long[1] - short[1]) / (args.long - args.short)
            base = base or per_request
            line = (
                f"workers {workers}: {rps:,.0f} req/s, {per_request:.3f} CPU-ms per request"
                f" (x{per_request / base:.2f} of the first row), p99 {long[2]:.1f} ms"
            )
            if args.compare_locust:
                ls = run_locust(host, args.short, workers)
                ll = run_locust(host, args.long, workers)
                theirs = (ll[0] - ls[0]) / (ll[1] - ls[1]) * 1000
                ratio = per_request / theirs
                line += f"; plain Locust {theirs:.3f} CPU-ms (bench/Locust {ratio:.2f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
