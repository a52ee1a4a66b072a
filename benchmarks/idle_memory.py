"""Generator memory per idle user: bench vs plain Locust on the same locustfile.

``benchmarks/locustfiles/idle.py``: FastHttpUsers that make one request when they
start and then wait. Each tool runs it with 1 user and with ``--users`` (default
5,000) users, spawned at 1,000/s, held for ``--seconds``; the generator pinned to core
0, the target (nginx, or the gevent WSGI fallback) to core 1. The process's resident
memory (``VmRSS``) is polled every 0.2 s; **held** is its highest value in the hold
(after every user has started, before the stop), **peak** the process's maximum RSS
over its whole life (``ru_maxrss``: for bench this includes the verdict and, unless
``--no-report``, the rendered report, after the run).

    per added user = (held[N] - held[1]) / (N - 1)

    python benchmarks/idle_memory.py [--users 5000] [--seconds 30] [--report] [--repeats 3]

With ``--repeats`` the whole comparison runs that many times (the tools' order
alternating) and the per-user figures are given as min / median / max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import static_json  # noqa: E402

LOCUSTFILE = HERE / "locustfiles" / "idle.py"
SPAWN_RATE = 1000
POLL_S = 0.2


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def measure(cmd: list[str], *, hold_from: float, hold_to: float) -> tuple[float, float]:
    """(highest RSS in [hold_from, hold_to] s after start, ru_maxrss) in MiB."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    held = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.monotonic() - started
        rss = _rss_mib(proc.pid)
        if rss is not None and hold_from <= elapsed <= hold_to:
            held = max(held, rss)
        time.sleep(POLL_S)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 3):
        err = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"{cmd[3:6]} failed ({proc.returncode}): {err[-2000:]}")
    return held, usage.ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--report", action="store_true", help="let bench render its report")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    spawn_s = args.users / SPAWN_RATE
    hold_from, hold_to = spawn_s + 6.0, args.seconds - 1.0
    if hold_to <= hold_from:
        raise SystemExit("--seconds too short for the spawn: raise it")
    per_user: dict[str, list[float]] = {"bench": [], "locust": []}
    with static_json(cpu="1") as (host, kind), tempfile.TemporaryDirectory() as tmp:
        print(f"target: {kind} at {host}", flush=True)
        for repeat in range(args.repeats):
            order = ("bench", "locust") if repeat % 2 == 0 else ("locust", "bench")
            for tool, added in compare(host, tmp, args, order, hold_from, hold_to).items():
                per_user[tool].append(added)
    if args.repeats > 1:
        for tool, values in per_user.items():
            print(
                f"{tool}: per added user min / median / max"
                f" {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} KiB"
            )
        ratios = [b / lo for b, lo in zip(per_user["bench"], per_user["locust"], strict=True)]
        print(
            "bench / locust per added user, per repeat: "
            + ", ".join(f"{r:.3f}" for r in ratios)
            + f" (median {statistics.median(ratios):.3f})"
        )


def compare(
    host: str,
    tmp: str,
    args: argparse.Namespace,
    order: tuple[str, str],
    hold_from: float,
    hold_to: float,
) -> dict[str, float]:
    """One round: each tool with 1 user and with ``args.users``; KiB per added user."""
    rows: dict[tuple[str, int], tuple[float, float]] = {}
    for users in (1, args.users):
        common = ["-u", str(users), "-r", str(SPAWN_RATE), "-t", f"{args.seconds}s"]
        locust = [
            "taskset", "-c", "0", sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
            "--headless", *common, "--host", host, "--skip-log", "--stop-timeout", "2",
        ]  # fmt: skip
        bench = [
            "taskset", "-c", "0", sys.executable, "-m", "dhakacart_bench", "run",
            "-f", str(LOCUSTFILE), *common, "--host", host, "--quiet",
            "--reports-dir", tmp, "--stop-timeout", "2",
            *([] if args.report else ["--no-report"]),
        ]  # fmt: skip
        commands = {"bench": bench, "locust": locust}
        for tool in order:
            rows[tool, users] = measure(commands[tool], hold_from=hold_from, hold_to=hold_to)
            held, peak = rows[tool, users]
            print(f"{tool} {users:>6} users: held {held:.1f} MiB, peak {peak:.1f} MiB")
    out = {}
    for tool in ("bench", "locust"):
        out[tool] = (rows[tool, args.users][0] - rows[tool, 1][0]) * 1024 / (args.users - 1)
        print(f"{tool}: base {rows[tool, 1][0]:.1f} MiB, {out[tool]:.2f} KiB per added user")
    return out


if __name__ == "__main__":
    main()
