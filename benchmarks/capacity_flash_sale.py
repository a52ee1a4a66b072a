"""`bench capacity flash-sale` on the bundled store, repeated, and its cross-check.

Runs the capacity search REPEATS times (default budget 5 min each), prints each result
and the spread of the sustainable load; then, unless --no-cross-check, runs the
flash-sale user mix as an open-model `bench run` for 60 s at the first search's
sustainable arrival rate and at 1.25x it, and prints whether each met every SLO.
Results: docs/benchmarks.md ("Capacity search"). Run it under the measurement lock:

    flock /tmp/dhakacart-measure.lock python benchmarks/capacity_flash_sale.py --repeats 1
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
OUT = ROOT / "benchmarks" / "out" / "capacity"


def capacity(reports: Path, budget: str, extra: list[str]) -> dict:
    cmd = [
        "bench",
        "capacity",
        "flash-sale",
        "--reports-dir",
        str(reports),
        "--budget",
        budget,
        "-q",
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    folder = re.search(r"Capacity folder: (\S+)", proc.stdout)
    if folder is None:
        raise SystemExit(
            f"bench capacity failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    meta = json.loads((Path(folder.group(1)) / "capacity.json").read_text())
    meta["exit_code"] = proc.returncode
    meta["folder"] = folder.group(1)
    meta["printed"] = proc.stdout
    return meta


def open_scenario(folder: Path, rate: float, pool: int, seconds: int) -> Path:
    """flash-sale's users, store and SLOs, as an open model at ``rate`` arrivals/s (the
    deal open from the start, as in the capacity levels)."""
    text = (ROOT / "scenarios" / "flash-sale.toml").read_text()
    head, _, rest = text.partition("[load]")
    slos = rest[rest.index("[[slo]]") :]
    head = re.sub(r"(?m)^deal_opens_at = .*\n", "", head)
    head = head.replace(
        'locustfile = "shoppers.py"', f'locustfile = "{ROOT / "locustfiles" / "shoppers.py"}"'
    )
    head = re.sub(r"(?m)^name = .*$", 'name = "flash-sale-open"', head)
    load = (
        f'[load]\nmodel = "open"\nmax_users = {pool}\narrival = "poisson"\n\n'
        '[[load.stages]]\nduration = "4s"\narrival_rate = 0.0\n\n'
        f'[[load.stages]]\nduration = "{seconds}s"\narrival_rate = {rate:.3f}\n\n'
    )
    path = folder / f"flash-sale-open-{rate:.0f}.toml"
    path.write_text(head + load + slos)
    return path


def run_open(scenario: Path, reports: Path) -> dict:
    proc = subprocess.run(
        ["bench", "run", str(scenario), "--reports-dir", str(reports), "-q", "--no-report"],
        capture_output=True,
        text=True,
        check=False,
    )
    runs = sorted(p for p in reports.iterdir() if p.is_dir())
    meta = json.loads((runs[-1] / "run.json").read_text())
    summary = json.loads((runs[-1] / "summary.json").read_text())
    verdict = meta.get("verdict") or {}
    return {
        "exit_code": proc.returncode,
        "status": verdict.get("status"),
        "reasons": verdict.get("reasons"),
        "rps": summary["total"]["rps"],
        "p95_ms": summary["total"]["p95_ms"],
        "arrivals": meta.get("arrivals"),
        "printed_tail": proc.stdout.strip().splitlines()[-6:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--no-cross-check", action="store_true")
    parser.add_argument("extra", nargs="*", help="more `bench capacity` options (after --)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(args.repeats):
        meta = capacity(OUT / "searches", args.budget, args.extra)
        results.append(meta)
        print(
            json.dumps(
                {
                    k: meta[k]
                    for k in (
                        "status",
                        "exit_code",
                        "elapsed_s",
                        "sustainable_rate",
                        "sustainable_rps",
                        "sustainable_rps_interval",
                        "breaking_rps",
                        "breaking_reason",
                        "bottleneck_endpoint",
                        "requests_per_shopper",
                        "shoppers_per_instance",
                        "generator_cpu_ms_per_request",
                        "folder",
                    )
                }
                | {"levels": len(meta["levels"]), "repeat": i + 1}
            ),
            flush=True,
        )
    found = [m["sustainable_rps"] for m in results if m["sustainable_rps"]]
    if len(found) > 1:
        mean = sum(found) / len(found)
        print(
            json.dumps(
                {
                    "sustainable_rps": found,
                    "mean": round(mean, 1),
                    "spread_pct": round((max(found) - min(found)) / mean * 100, 1),
                }
            )
        )
    if args.no_cross_check or not results or not results[0]["sustainable_rate"]:
        return 0
    first = results[0]
    rate = first["sustainable_rate"]
    pool = max(lv["pool"] for lv in first["levels"]) * 2
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1.0, 1.25):
            scenario = open_scenario(Path(tmp), rate * factor, pool, 60)
            result = run_open(scenario, OUT / f"cross-{factor:g}")
            print(
                json.dumps({"cross_check": factor, "rate": round(rate * factor, 2)} | result),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
