"""Where an A/B run's p95-ratio noise comes from, and what a denser load does to it.

For each A/B run folder (both arms' per-second HDR windows, after the gate's 5 s
warm-up), three standard errors of ``log(p95 ratio)`` from 1,000 resamples each:

- **paired**: the gate's own — seconds drawn with replacement, the same draw for both
  arms (``stats/paired.py``), so what the arms share cancels;
- **unpaired**: each arm's seconds drawn independently (what two separate runs at the
  same moments would give);
- **per request**: each arm's requests drawn independently with no time structure at
  all — the floor that sampling a p95 from this many requests sets, whatever the pairing.

and the correlation of the two arms' per-second p95s. ``paired² / per-request²`` is the
share of the gate's variance that comes from the arms moving apart second by second
(each store's own scheduling, its GIL, its queue) rather than from the sample size.

Usage::

    python benchmarks/ab_noise.py FOLDER [FOLDER ...]       # analyse A/B run folders
    flock /tmp/dhakacart-measure.lock python benchmarks/ab_noise.py --sweep \
        [--only 7 11 12] [--busy] [--endpoint "GET /api/products/[id]"]
        # A/A runs of ab-smoke at several loads, closed and open (60 s each, no early stop),
        # then the table; folders under benchmarks/out/ab_noise/

Only 127.0.0.1 (bundled stores).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _neighbours import busy_core  # noqa: E402

ROOT = HERE.parent
OUT = HERE / "out" / "ab_noise"
WARMUP_S = 5
RESAMPLES = 1000
CLOSED = """[[users]]
class = "Browser"
think_time = ["{think}", "{think2}"]

[store]
products = 50
workers = {workers}
threads = {threads}

[load]
model = "closed"

[[load.stages]]
duration = "3s"
users = {users}

[[load.stages]]
duration = "57s"
users = {users}

"""
OPEN = """[[users]]
class = "Browser"

[store]
products = 50
workers = 1
threads = 8

[load]
model = "open"
max_users = 40
arrival = "uniform"

[[load.stages]]
duration = "3s"
arrival_rate = {rate}
ramp = true

[[load.stages]]
duration = "57s"
arrival_rate = {rate}

"""
_CLOSED = {"think": "0.005s", "think2": "0.015s", "workers": 1, "threads": 8, "users": 10}
#: (label, the scenario's [[users]] to [[slo]] part): each an A/A run of ab-smoke's
#: users and SLOs with this load. The first closed one is ab-smoke before it was open.
VARIANTS: list[tuple[str, str]] = [
    ("closed, 10 users, think 5-15 ms", CLOSED.format(**_CLOSED)),
    ("closed, 10 users, think 15-30 ms",
     CLOSED.format(**{**_CLOSED, "think": "0.015s", "think2": "0.030s"})),
    ("closed, 10 users, think 2-6 ms",
     CLOSED.format(**{**_CLOSED, "think": "0.002s", "think2": "0.006s"})),
    ("closed, 10 users, no think time",
     CLOSED.format(**{**_CLOSED, "think": "0s", "think2": "0s"})),
    ("closed, 20 users, think 5-15 ms", CLOSED.format(**{**_CLOSED, "users": 20})),
    ("closed, no think, 2 store workers x 4 threads",
     CLOSED.format(**{**_CLOSED, "think": "0s", "think2": "0s", "workers": 2, "threads": 4})),
    *((f"open, {rate} arrivals/s (uniform)", OPEN.format(rate=float(rate)))
      for rate in (100, 200, 300, 420, 600)),
    ("open, 200 arrivals/s, 1 store worker x 2 threads",
     OPEN.format(rate=200.0).replace("threads = 8", "threads = 2")),
    ("open, 200 arrivals/s, 1 store worker x 4 threads",
     OPEN.format(rate=200.0).replace("threads = 8", "threads = 4")),
]  # fmt: skip


def analyse(folder: Path, endpoint: str = "*") -> dict[str, Any]:
    """The three standard errors and the per-second correlation of one A/B folder."""
    import numpy as np

    from dhakacart_bench.gate.ab_cells import cells_of_run
    from dhakacart_bench.runfolder.reader import load_run
    from dhakacart_bench.stats.bootstrap import weighted_percentiles
    from dhakacart_bench.stats.paired import _matrices, shared_blocks

    arms = [cells_of_run(load_run(folder / arm))[endpoint] for arm in ("candidate", "baseline")]
    first = min(min(cells) for cells in arms)
    judged = [{s: c for s, c in cells.items() if s >= first + WARMUP_S} for cells in arms]
    blocks, seconds = shared_blocks(judged[0], judged[1])
    cand, base, values = _matrices(blocks)
    n = len(blocks)
    rng = np.random.default_rng(20261202)

    def p95(weights: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        return weighted_percentiles(weights, matrix, values, 95.0)

    def draws() -> np.ndarray:
        return rng.multinomial(n, np.full(n, 1 / n), size=RESAMPLES).astype(np.float64)

    same = draws()
    paired = np.log(p95(same, cand) / p95(same, base))
    unpaired = np.log(p95(same, cand) / p95(draws(), base))
    pooled = [m.sum(axis=0) for m in (cand, base)]
    per_request = [
        p95(np.eye(RESAMPLES), rng.multinomial(int(t.sum()), t / t.sum(), RESAMPLES).astype(float))
        for t in pooled
    ]
    each = [p95(np.eye(n), m) for m in (cand, base)]  # every block's own p95, per arm
    one = np.ones((1, n))
    return {
        "folder": folder.name,
        "seconds": seconds,
        "rps_per_arm": float(sum(t.sum() for t in pooled) / 2 / max(seconds, 1)),
        "p95_ms": float(p95(one, base)[0]),
        "change_pct": float((p95(one, cand)[0] / p95(one, base)[0] - 1) * 100),
        "se_paired": float(np.std(paired, ddof=1)),
        "se_unpaired": float(np.std(unpaired, ddof=1)),
        "se_per_request": float(np.std(np.log(per_request[0] / per_request[1]), ddof=1)),
        "corr_per_second": float(np.corrcoef(np.log(each[0]), np.log(each[1]))[0, 1]),
    }


def table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    print(
        "| load | requests/s per arm | p95 (ms) | SE paired | SE unpaired | SE per request"
        " | paired² / per-request² | per-second corr. | paired SE at 60 s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        at_60 = r["se_paired"] * math.sqrt(r["seconds"] / (60 - WARMUP_S))
        print(
            f"| {label} | {r['rps_per_arm']:.0f} | {r['p95_ms']:.1f}"
            f" | {r['se_paired']:.2%} | {r['se_unpaired']:.2%} | {r['se_per_request']:.2%}"
            f" | {(r['se_paired'] / r['se_per_request']) ** 2:.1f}"
            f" | {r['corr_per_second']:+.2f} | {at_60:.2%} |"
        )


def sweep(only: list[int] | None, busy: bool, endpoint: str) -> list[tuple[str, dict[str, Any]]]:
    """One A/A run per load variant (no early stop: one look, at 60 s), optionally
    beside a busy loop on one core (``timeout … python3 -c 'while True: pass'``)."""
    shipped = (ROOT / "scenarios" / "ab-smoke.toml").read_text()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (label, load) in enumerate(VARIANTS):
            if only is not None and number not in only:
                continue
            shoppers = ROOT / "locustfiles" / "shoppers.py"
            text = shipped.replace('locustfile = "shoppers.py"', f'locustfile = "{shoppers}"')
            cut, end = text.index("[[users]]"), text.index("[[slo]]")
            text = text[:cut] + load + text[end:]
            scenario = Path(tmp) / f"ab-noise-{number}.toml"
            scenario.write_text(text)
            reports = OUT / f"variant-{number}"
            reports.mkdir(parents=True, exist_ok=True)
            before = set(reports.iterdir())
            with busy_core(busy, 400):
                subprocess.run(
                    [sys.executable, "-m", "dhakacart_bench", "run", str(scenario),
                     "--against", "bundled", "--gate", "--p95-regression-pct", "5",
                     "--ab-min-seconds", "60s", "--no-report", "-q",
                     "--reports-dir", str(reports)],
                    check=False, capture_output=True, timeout=240,
                )  # fmt: skip
            (folder,) = sorted(set(reports.iterdir()) - before)
            rows.append((label + (", busy core" if busy else ""), analyse(folder, endpoint)))
            print(f"{label}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--endpoint", default="*")
    parser.add_argument("--only", type=int, nargs="+", help="the sweep's variant numbers")
    parser.add_argument("--busy", action="store_true", help="a busy loop on one core beside")
    args = parser.parse_args()
    if args.sweep:
        rows = sweep(args.only, args.busy, args.endpoint)
    else:
        rows = [(folder.name, analyse(folder, args.endpoint)) for folder in args.folders]
    table(rows)


if __name__ == "__main__":
    main()
