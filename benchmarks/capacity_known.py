"""`bench capacity` against targets of known capacity, at several (T, S) settings.

The target (tests/known_capacity.py): gunicorn gthread, one worker of T threads, each
request holding its thread S ms, so at most T/S req/s. For each setting, runs the search
with the default budget and resolution (a p95 SLO of 4 x S, uniform arrivals) and
prints the sustainable load against T/S. The issue asks for -15 %/+5 %.
Results: docs/benchmarks.md ("Capacity search"). Under the measurement lock:

    flock /tmp/dhakacart-measure.lock python benchmarks/capacity_known.py 2x25 8x20
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.known_capacity import serve_known_capacity, write_scenario  # noqa: E402


def search(threads: int, hold_ms: float, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = write_scenario(folder, slo_ms=4 * hold_ms)
        with serve_known_capacity(threads, hold_ms) as url:
            cmd = ["bench", "capacity", str(scenario), "--host", url, "--reports-dir",
                   str(folder / "reports"), "--no-report", "-q", *extra]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        found = re.search(r"Capacity folder: (\S+)", proc.stdout)
        if found is None:
            raise SystemExit(f"bench capacity failed:\n{proc.stdout}\n{proc.stderr}")
        meta = json.loads((Path(found.group(1)) / "capacity.json").read_text())
    capacity = threads * 1000.0 / hold_ms
    sustainable = meta["sustainable_rps"] or 0.0
    return {
        "threads": threads,
        "hold_ms": hold_ms,
        "capacity_rps": capacity,
        "sustainable_rps": sustainable,
        "interval": meta["sustainable_rps_interval"],
        "breaking_rps": meta["breaking_rps"],
        "error_pct": round((sustainable / capacity - 1) * 100, 1),
        "within": -15.0 <= (sustainable / capacity - 1) * 100 <= 5.0,
        "levels": len(meta["levels"]),
        "elapsed_s": meta["elapsed_s"],
        "status": meta["status"],
        "exit_code": proc.returncode,
        "generator_cpu_ms_per_request": meta["generator_cpu_ms_per_request"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="*", default=["2x25", "8x20"], help="TxS (threads x ms)")
    parser.add_argument("--extra", default="", help="more `bench capacity` options, quoted")
    args = parser.parse_args()
    for text in args.settings:
        threads, hold = text.split("x")
        print(json.dumps(search(int(threads), float(hold), args.extra.split())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
