"""Recorder overhead: CPU per 1,000 requests of `bench run` vs plain `locust --headless`.

Both drive the same FastHttpUser locustfile (benchmarks/locustfiles/overhead.py:
``Reader``, 50 users x 20 req/s = 1,000 req/s; with ``--saturate``, ``Flood``: 20
users with no wait, as many requests as the generator's one core carries) against
the same private nginx (or, without nginx, a gevent WSGI server with the same body),
pinned to the same core,
alternating, for several pairs. Start-up cost (imports, spawning) is removed by
running each tool twice — short and long — and taking the difference:

    CPU per request = (CPU_long - CPU_short) / (requests_long - requests_short)

CPU is user+sys of the generator process (rusage of the waited child). The
figure of interest is the ratio bench / locust (issue 14's goal: <= 1.03 at both
operating points).

With ``--window``, each tool runs once per pair (``--long`` seconds) and the CPU per
request is read *inside* the process over a window of the hold (from 5 s to
``--long`` - 5 s) by a probe both tools load with the same locustfile
(``locustfiles/overhead_probe.py``; bench through ``bench run -f``): no differencing of
two runs, so start-up, stopping and end-of-run work cannot leak into the figure.

    python benchmarks/recorder_overhead.py [--pairs 3] [--short 10] [--long 40] [--saturate]
    python benchmarks/recorder_overhead.py --window [--pairs 8] [--long 30] [--saturate]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import static_json  # noqa: E402

LOCUSTFILE = HERE / "locustfiles" / "overhead.py"
SCENARIO = HERE / "scenarios" / "overhead.toml"
USERS = 50
SATURATING_USERS = 20
GENERATOR_CPU = "0"
TARGET_CPU = "1"


def _cpu_of(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # bench exits 1/3 for a failed/inconclusive verdict: still a measured run
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(cmd[3:6])} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return cpu, proc


def run_locust(host: str, seconds: int, *, saturate: bool) -> tuple[float, int]:
    users, cls = (SATURATING_USERS, "Flood") if saturate else (USERS, "Reader")
    cmd = [
        "taskset", "-c", GENERATOR_CPU,
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), cls, "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host,
        "--json", "--skip-log", "--stop-timeout", "5",
    ]  # fmt: skip
    cpu, proc = _cpu_of(cmd)
    stats = json.loads(proc.stdout)
    return cpu, sum(int(entry["num_requests"]) for entry in stats)


def run_bench(host: str, seconds: int, reports: Path, *, saturate: bool) -> tuple[float, int]:
    if saturate:  # the locustfile path, with Locust's flags
        what = [
            "-f", str(LOCUSTFILE), "Flood", "-u", str(SATURATING_USERS),
            "-r", str(SATURATING_USERS), "-t", f"{seconds}s",
        ]  # fmt: skip
    else:
        what = [str(SCENARIO), "--duration", f"{seconds}s"]
    cmd = [
        "taskset", "-c", GENERATOR_CPU,
        sys.executable, "-m", "dhakacart_bench", "run", *what, "--host", host,
        "--no-report", "--quiet", "--reports-dir", str(reports),
    ]  # fmt: skip
    cpu, _ = _cpu_of(cmd)
    newest = max(reports.iterdir(), key=lambda p: p.stat().st_mtime)
    summary = json.loads((newest / "summary.json").read_text())
    return cpu, int(summary["total"]["count"])


PROBE_LOCUSTFILE = HERE / "locustfiles" / "overhead_probe.py"


def run_window(tool: str, host: str, seconds: int, *, saturate: bool) -> tuple[float, int]:
    """(CPU seconds, requests) inside the hold's window, read by the locustfile's probe."""
    users, cls = (SATURATING_USERS, "Flood") if saturate else (USERS, "Reader")
    flags = ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.json"
        if tool == "bench":
            rest = ["dhakacart_bench", "run", "-f", str(PROBE_LOCUSTFILE), cls, *flags]
            rest += ["--no-report", "--quiet", "--reports-dir", tmp]
        else:
            rest = ["locust", "-f", str(PROBE_LOCUSTFILE), cls, "--headless", *flags]
            rest += ["--json", "--skip-log", "--stop-timeout", "5"]
        cmd = ["taskset", "-c", GENERATOR_CPU, sys.executable, "-m", *rest]
        env = {**os.environ, "PROBE_OUT": str(out), "PROBE_TO": str(seconds - 5)}
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        if proc.returncode not in (0, 1, 3) or not out.exists():
            raise SystemExit(f"{tool} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        probe = json.loads(out.read_text())
    return float(probe["cpu_s"]), int(probe["requests"])


def per_1000(short: tuple[float, int], long: tuple[float, int]) -> float:
    cpu = long[0] - short[0]
    requests = long[1] - short[1]
    return cpu / requests * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=40)
    parser.add_argument(
        "--saturate", action="store_true", help="no think time: the generator's saturation point"
    )
    parser.add_argument(
        "--window", action="store_true", help="CPU per request read inside the hold (one run each)"
    )
    args = parser.parse_args()
    sat = args.saturate
    rows = []
    with static_json(cpu=TARGET_CPU) as (host, target), tempfile.TemporaryDirectory() as tmp:
        point = "saturation" if sat else f"a fixed {USERS * 20:,} req/s"
        print(f"target: {target} at {host}; operating point: {point}", flush=True)
        reports = Path(tmp)
        for pair in range(args.pairs):
            order = ["bench", "locust"] if pair % 2 == 0 else ["locust", "bench"]
            result: dict[str, float] = {}
            for tool in order:
                if args.window:
                    cpu, requests = run_window(tool, host, args.long, saturate=sat)
                    result[tool] = cpu / requests * 1000.0
                    result[f"{tool}_requests"] = requests
                    continue
                if tool == "bench":
                    short, long = (
                        run_bench(host, s, reports, saturate=sat) for s in (args.short, args.long)
                    )
                else:
                    short, long = (
                        run_locust(host, s, saturate=sat) for s in (args.short, args.long)
                    )
                result[tool] = per_1000(short, long)
                result[f"{tool}_requests"] = long[1]
            ratio = result["bench"] / result["locust"]
            rows.append((result["bench"], result["locust"], ratio))
            print(
                f"pair {pair + 1} ({' then '.join(order)}): bench {result['bench']:.3f}"
                f" CPU-s/1k req, locust {result['locust']:.3f} CPU-s/1k req, ratio {ratio:.3f}"
                f" ({int(result['bench_requests']):,} / {int(result['locust_requests']):,}"
                f" requests in the {'windows' if args.window else 'long runs'})",
                flush=True,
            )
    ratios = [r for _, _, r in rows]
    print(
        f"median ratio bench/locust = {statistics.median(ratios):.3f}"
        f" (min {min(ratios):.3f}, max {max(ratios):.3f}, {len(rows)} pairs);"
        f" median CPU-ms per request: bench {statistics.median(r[0] for r in rows):.3f},"
        f" locust {statistics.median(r[1] for r in rows):.3f}"
    )


if __name__ == "__main__":
    main()
