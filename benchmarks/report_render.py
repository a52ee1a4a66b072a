"""Benchmark: time and peak memory of ``bench report`` as the request count grows.

Writes synthetic one-hour run folders (3,600 one-second windows x 10 endpoints, a
stepped load of 10 levels) holding 10^5, 10^6 and 10^7 requests — the same duration
and window count, with counts per window scaled — then renders each report in a fresh
subprocess and records wall time and peak RSS (``ru_maxrss``, which includes the
interpreter, numpy, pandas and matplotlib). Results: docs/benchmarks-report.md.

    /work/.venv/bin/python benchmarks/report_render.py [--seconds 3600] [--endpoints 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from dhakacart_bench.report.render import render_report
from dhakacart_bench.runfolder.reader import load_run
t1 = time.perf_counter()
path = render_report(load_run(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "render_s": t2 - t1,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "report_kb": path.stat().st_size / 1024}))
"""


def make(base: Path, requests: int, seconds: int, endpoints: int) -> Path:
    """A synthetic run of ``requests`` requests over ``seconds`` windows."""
    from tests.synthetic import stepped_profile, write_synthetic_run

    names = {f"GET /api/endpoint-{i:02d}": 5.0 + 3 * i for i in range(endpoints)}
    per_second = requests / seconds
    levels = [100 * (i + 1) for i in range(10)]
    return write_synthetic_run(
        base,
        seconds=seconds,
        endpoints=names,
        name=f"run-{requests}",
        users_profile=stepped_profile(levels, max(1, seconds // len(levels))),
        throughput=lambda users: per_second,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10**5, 10**6, 10**7])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            t = time.perf_counter()
            folder = make(Path(tmp), size, args.seconds, args.endpoints)
            made_s = time.perf_counter() - t
            count = json.loads((folder / "summary.json").read_text())["total"]["count"]
            disk_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(folder)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            rows.append({"requests": count, "folder_mb": disk_mb, "generate_s": made_s, **result})
            print(json.dumps(rows[-1]), flush=True)
    print("\n| requests | run folder | render time | import time | peak RSS | report.html |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['requests']:,} | {r['folder_mb']:.1f} MB | {r['render_s']:.2f} s | "
            f"{r['import_s']:.2f} s | {r['max_rss_mb']:.0f} MB | {r['report_kb']:.0f} KB |"
        )


if __name__ == "__main__":
    main()
