"""Percentile accuracy: bench's p50/p95/p99 vs the exact values and vs Locust's own.

A target with a known, deterministic delay sequence (benchmarks/_delay_server.py)
is read by 20 users with no think time for --seconds. Every raw response time
Locust measured is also captured by a plain listener: those are the exact
client-side values. Compared, per percentile:

- bench: the run folder's summary.json (HDR histograms, 3 significant digits);
- Locust: a ``locust.stats.StatsEntry`` fed the same raw values (Locust's own
  rounding/bucketing, as its reports and --csv would show).

    python benchmarks/percentile_accuracy.py [--seconds 20]
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import free_port, wait_http  # noqa: E402
from locust.stats import RequestStats, StatsEntry  # noqa: E402

from dhakacart_bench.measure.config import RunConfig  # noqa: E402
from dhakacart_bench.measure.run import run_scenario  # noqa: E402
from dhakacart_bench.scenario.lookup import load_scenario  # noqa: E402

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
SCENARIO = """
name = "accuracy"
description = "Known delays, 20 users, no think time"
locustfile = "{locustfile}"

[[users]]
class = "ProductReader"

[load]
model = "closed"

[[load.stages]]
duration = "{seconds}s"
users = 20
spawn_rate = 20
"""


def exact(values: list[float], pct: float) -> float:
    """The sample at HDR's rank for ``pct`` (``max(1, int(pct * n / 100 + 0.5))``).

    Same rank convention as bench's histograms (docs/run-folder.md), so the
    comparison measures recording error only, not a different percentile
    definition — at p99.9 of a few thousand samples, nearest-rank-up and
    nearest-rank-rounded can pick neighbours hundreds of ms apart.
    """
    ordered = sorted(values)
    rank = max(1, int(pct * len(ordered) / 100.0 + 0.5))
    return ordered[rank - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, str(HERE / "_delay_server.py"), str(port)]
    )
    raw: list[float] = []

    def capture(request_type, name, response_time, response_length, exception=None, **kw):  # type: ignore[no-untyped-def]
        if exception is None:
            raw.append(response_time)

    try:
        host = f"http://127.0.0.1:{port}"
        wait_http(host + "/")
        with tempfile.TemporaryDirectory() as tmp:
            scenario_path = Path(tmp) / "accuracy.toml"
            locustfile = (HERE.parent / "locustfiles" / "probe.py").as_posix()
            scenario_path.write_text(SCENARIO.format(locustfile=locustfile, seconds=args.seconds))
            locust.events.request.add_listener(capture)
            try:
                result = run_scenario(
                    RunConfig(
                        scenario=load_scenario(scenario_path),
                        host=host,
                        reports_dir=Path(tmp) / "reports",
                    )
                )
            finally:
                locust.events.request.remove_listener(capture)
            summary = json.loads((result.run_dir / "summary.json").read_text())
    finally:
        server.terminate()
        server.wait(10)

    bench_row = summary["total"]
    entry = StatsEntry(RequestStats(), "accuracy", "GET")
    for value in raw:
        entry.log(value, 0)
    keys = {50.0: "p50_ms", 90.0: "p90_ms", 95.0: "p95_ms", 99.0: "p99_ms", 99.9: "p999_ms"}
    print(f"{len(raw):,} requests (bench counted {bench_row['count']:,})")
    print(
        f"{'pct':>6} {'exact ms':>10} {'bench ms':>10} {'bench err':>10}"
        f" {'locust ms':>10} {'locust err':>11}"
    )
    worst_bench = worst_locust = 0.0
    for pct in PERCENTILES:
        truth = exact(raw, pct)
        ours = float(bench_row[keys[pct]])
        theirs = float(entry.get_response_time_percentile(pct / 100.0))
        err_ours = (ours - truth) / truth * 100
        err_theirs = (theirs - truth) / truth * 100
        worst_bench = max(worst_bench, abs(err_ours))
        worst_locust = max(worst_locust, abs(err_theirs))
        print(
            f"{pct:>6} {truth:>10.3f} {ours:>10.3f} {err_ours:>9.3f}%"
            f" {theirs:>10.1f} {err_theirs:>10.2f}%"
        )
    print(f"worst |error|: bench {worst_bench:.3f}%, locust {worst_locust:.2f}%")


if __name__ == "__main__":
    main()
