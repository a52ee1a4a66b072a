"""HttpUser vs FastHttpUser: CPU per request of the same `bench run -f` locustfile.

Both locustfiles (benchmarks/locustfiles/overhead.py: FastHttpUser;
overhead_http.py: HttpUser) do the same requests — 50 users x 20 req/s of one cheap
endpoint — against the same private nginx (or, without nginx, a gevent WSGI server
with the same body); the generator is pinned to one core, nginx
to the other; the two alternate in each pair. Start-up is removed as in
recorder_overhead.py: CPU per request = (CPU_long - CPU_short) / (requests_long -
requests_short), CPU being user+sys of the waited `bench` process.

    python benchmarks/user_class_cost.py [--pairs 3] [--short 8] [--long 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import static_json  # noqa: E402
from recorder_overhead import GENERATOR_CPU, TARGET_CPU, USERS, _cpu_of, per_1000  # noqa: E402

LOCUSTFILES = {
    "FastHttpUser": HERE / "locustfiles" / "overhead.py",
    "HttpUser": HERE / "locustfiles" / "overhead_http.py",
}


def run(kind: str, host: str, seconds: int, reports: Path) -> tuple[float, int]:
    cmd = [
        "taskset", "-c", GENERATOR_CPU,
        sys.executable, "-m", "dhakacart_bench", "run", "-f", str(LOCUSTFILES[kind]),
        "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "-H", host,
        "--no-report", "--quiet", "--reports-dir", str(reports),
    ]  # fmt: skip
    cpu, _ = _cpu_of(cmd)
    newest = max(reports.iterdir(), key=lambda p: p.stat().st_mtime)
    summary = json.loads((newest / "summary.json").read_text())
    return cpu, int(summary["total"]["count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--short", type=int, default=8)
    parser.add_argument("--long", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with static_json(cpu=TARGET_CPU) as (host, target), tempfile.TemporaryDirectory() as tmp:
        print(f"target: {target} at {host}", flush=True)
        reports = Path(tmp)
        for pair in range(args.pairs):
            order = ["FastHttpUser", "HttpUser"][:: 1 if pair % 2 == 0 else -1]
            result = {}
            for kind in order:
                short, long = (run(kind, host, s, reports) for s in (args.short, args.long))
                result[kind] = per_1000(short, long)  # CPU-s per 1,000 = CPU-ms per request
            ratio = result["HttpUser"] / result["FastHttpUser"]
            rows.append((result["FastHttpUser"], result["HttpUser"], ratio))
            print(
                f"pair {pair + 1} ({' then '.join(order)}): FastHttpUser"
                f" {result['FastHttpUser']:.3f} CPU-ms/request, HttpUser"
                f" {result['HttpUser']:.3f} CPU-ms/request, ratio {ratio:.2f}",
                flush=True,
            )
    fast, plain, ratios = zip(*rows, strict=True)
    print(
        f"CPU-ms per request (min/median/max over {len(rows)} pairs):"
        f" FastHttpUser {min(fast):.3f}/{statistics.median(fast):.3f}/{max(fast):.3f},"
        f" HttpUser {min(plain):.3f}/{statistics.median(plain):.3f}/{max(plain):.3f};"
        " HttpUser/FastHttpUser"
        f" {min(ratios):.2f}/{statistics.median(ratios):.2f}/{max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
