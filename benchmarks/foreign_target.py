"""A real application no one here wrote, on the same machine as the load generator.

Datasette (from PyPI, in its own virtualenv: ``--datasette PATH``) serves a 20,000-row
SQLite table on 127.0.0.1, as a developer or a CI runner would start it beside the load;
``bench run`` drives an open-model scenario at it, ramping up to ``--rate`` arrivals/s
of a page that filters and sorts the table, with a p95 SLO of 250 ms (``--host``, no
``--target-pid``: bench finds the target by the port it listens on).

Issue 11 found this saturating the target and the verdict saying INCONCLUSIVE ("the
machine was busy … re-run"), because the target's own CPU counted as a noisy
neighbour's. What must come out now: FAIL (exit 1) on the latency SLO, with the target's
CPU beside the generator's in run.json, and the target not counted as foreign.

    python -m venv /tmp/dsvenv && /tmp/dsvenv/bin/pip install "datasette>=0.65"
    python benchmarks/foreign_target.py --datasette /tmp/dsvenv/bin/datasette [--rate 120]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LOCUSTFILE = '''
import random
from locust import FastHttpUser, task


class Explorer(FastHttpUser):
    """One page of the table, filtered by a random category and sorted by price."""

    @task
    def filtered_page(self):
        category = random.randrange(50)
        self.client.get(
            f"/shop/items.json?category={category}&_sort_desc=price&_size=50",
            name="GET /shop/items.json?category=[c]",
        )
'''

SCENARIO = """
name = "datasette-open"
description = "Open model against datasette on this machine: up to {rate}/s filtered pages."
locustfile = "explorer.py"

[[users]]
class = "Explorer"

[load]
model = "open"
max_users = {pool}
arrival = "poisson"

[[load.stages]]
duration = "20s"
arrival_rate = {rate}
ramp = true

[[load.stages]]
duration = "{hold}s"
arrival_rate = {rate}

[[slo]]
metric = "p95_ms"
endpoint = "*"
max = 250

[[slo]]
metric = "error_rate"
max = 0.01

[gate]
min_requests = 200
"""


def make_database(path: Path, rows: int) -> None:
    """``shop.items``: ``rows`` items in 50 categories, no index on the filter."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, category INTEGER,"
            " price REAL, description TEXT)"
        )
        db.executemany(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
            ((i, f"item {i}", i % 50, (i * 7919) % 100_000 / 100, "x" * 200) for i in range(rows)),
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasette", required=True, help="path of the datasette command")
    parser.add_argument("--rate", type=float, default=120.0, help="arrivals/s at the top")
    parser.add_argument("--hold", type=int, default=40, help="seconds held at the top rate")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-datasette-"))
    make_database(work / "shop.db", args.rows)
    (work / "explorer.py").write_text(LOCUSTFILE)
    (work / "datasette-open.toml").write_text(
        SCENARIO.format(rate=args.rate, hold=args.hold, pool=int(args.rate * 10))
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [args.datasette, "serve", str(work / "shop.db"), "--host", "127.0.0.1", "--port",
         str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/-/versions.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("datasette did not start", file=sys.stderr)
                    return 3
                time.sleep(0.2)
        started = time.monotonic()
        bench = Path(sys.executable).with_name("bench")
        done = subprocess.run(
            [str(bench), "run", str(work / "datasette-open.toml"), "--host", url,
             "--reports-dir", str(work / "reports"), "--no-report"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=args.hold + 180,
            env={**os.environ, "GITHUB_STEP_SUMMARY": ""},
        )  # fmt: skip
        wall = time.monotonic() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # uvicorn waits for open connections
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    run_dir = next((work / "reports").glob("*/run.json")).parent
    meta = json.loads((run_dir / "run.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    machine, generator = meta.get("machine", {}), meta.get("generator", {})
    verdict = meta.get("verdict", {})
    figures = {
        "exit_code": done.returncode,
        "verdict": verdict.get("status"),
        "reasons": verdict.get("reasons"),
        "p95_ms": summary["total"].get("p95_ms"),
        "requests": summary["total"].get("count"),
        "arrivals": meta.get("arrivals"),
        "target_source": machine.get("target_source"),
        "target_cores_mean": machine.get("target_cores_mean"),
        "target_cores_max": machine.get("target_cores_max"),
        "foreign_cores_mean": machine.get("foreign_cores_mean"),
        "machine_busy": machine.get("busy"),
        "generator_cpu_p50": generator.get("cpu_pct_p50"),
        "generator_saturated": generator.get("saturated"),
        "wall_s": round(wall, 1),
        "run_dir": str(run_dir),
    }
    print(json.dumps(figures, indent=2))
    print(done.stdout[-1500:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
