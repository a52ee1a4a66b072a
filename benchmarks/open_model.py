"""Open vs closed model against a target that stalls (default 1.5 s every 5 s).

The bundled store runs with its stall fault on (every request arriving in the
first --stall-ms of each --every-s period waits until the stall ends). Against it,
one after the other, for --seconds each:

- closed loop: 10 ProductReader users with no think time (Locust's model);
- open model: ProductReader arrivals at --rate per second (Poisson), pool of
  --pool users.

Printed: p50/p99/max from bench's HDR histograms for each, the closed
loop's p99 as Locust itself would report it, and what the closed run's verdict
says about coordinated omission (its stalls and the p99 it estimates arrivals
would have seen). For an open arrival process the expected p99 is
stall - 1% of the period (~1.45 s for 1.5 s every 5 s).

    python benchmarks/open_model.py [--seconds 30] [--rate 100] [--pool 400]
                                    [--every-s 5] [--stall-ms 1500]
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import argparse
import json
import sys
import tempfile
from pathlib import Path

from locust.stats import RequestStats, StatsEntry

from dhakacart_bench.analysis.verdict import evaluate_verdict
from dhakacart_bench.measure.config import RunConfig
from dhakacart_bench.measure.run import run_scenario
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.scenario.lookup import load_scenario
from dhakacart_bench.target.commands import StoreSettings
from dhakacart_bench.target.process import ManagedStore

HERE = Path(__file__).resolve().parent
STALL = {"stall": {"every_s": 5, "for_ms": 1500}}
HEADER = """
name = "{name}"
description = "open-model benchmark"
locustfile = "{locustfile}"

[[users]]
class = "ProductReader"
"""
CLOSED = """
[load]
model = "closed"

[[load.stages]]
duration = "{seconds}s"
users = 10
spawn_rate = 10
"""
OPEN = """
[load]
model = "open"
max_users = {pool}
arrival = "poisson"

[[load.stages]]
duration = "{seconds}s"
arrival_rate = {rate}
"""


def run(name: str, body: str, host: str, tmp: Path) -> tuple[dict, list[float]]:
    """Run one scenario against ``host``; its summary, run.json and raw response times."""
    path = tmp / f"{name}.toml"
    locustfile = (HERE.parent / "locustfiles" / "probe.py").as_posix()
    path.write_text(HEADER.format(name=name, locustfile=locustfile) + body)
    raw: list[float] = []

    def capture(request_type, name, response_time, response_length, exception=None, **kw):  # type: ignore[no-untyped-def]
        raw.append(response_time)

    locust.events.request.add_listener(capture)
    try:
        result = run_scenario(
            RunConfig(scenario=load_scenario(path), host=host, reports_dir=tmp / "reports")
        )
    finally:
        locust.events.request.remove_listener(capture)
    meta = json.loads((result.run_dir / "run.json").read_text())
    summary = json.loads((result.run_dir / "summary.json").read_text())
    verdict = evaluate_verdict(load_run(result.run_dir))  # while the folder exists
    return {"summary": summary["total"], "meta": meta, "verdict": verdict}, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--pool", type=int, default=400)
    parser.add_argument("--every-s", type=float, default=STALL["stall"]["every_s"])
    parser.add_argument("--stall-ms", type=float, default=STALL["stall"]["for_ms"])
    args = parser.parse_args()
    STALL["stall"] = {"every_s": args.every_s, "for_ms": args.stall_ms}
    store = ManagedStore(StoreSettings(workers=2, threads=64, faults=STALL))
    store.start()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            closed, closed_raw = run(
                "closed-loop", CLOSED.format(seconds=args.seconds), store.url, tmp
            )
            opened, _ = run(
                "open-model",
                OPEN.format(seconds=args.seconds, rate=args.rate, pool=args.pool),
                store.url,
                tmp,
            )
    finally:
        store.stop()
    entry = StatsEntry(RequestStats(), "closed", "GET")
    for value in closed_raw:
        entry.log(value, 0)
    locust_p99 = entry.get_response_time_percentile(0.99)
    c, o = closed["summary"], opened["summary"]
    print(
        f"stall: {STALL['stall']['for_ms']} ms every {STALL['stall']['every_s']} s;"
        f" {args.seconds} s per run"
    )
    print(
        f"closed loop (10 users, no think time): {c['count']:,} requests,"
        f" p50 {c['p50_ms']:.1f} ms, p99 {c['p99_ms']:.1f} ms, max {c['max_ms']:.0f} ms;"
        f" Locust's own p99: {locust_p99:.0f} ms"
    )
    arrivals = opened["meta"]["arrivals"]
    print(
        f"open model ({args.rate:g}/s Poisson, pool {args.pool}): {o['count']:,} requests,"
        f" p50 {o['p50_ms']:.1f} ms, p99 {o['p99_ms']:.1f} ms, max {o['max_ms']:.0f} ms;"
        f" arrivals planned {arrivals['planned']:,}, started {arrivals['started']:,},"
        f" lag p99 {arrivals['lag_ms_p99']:.1f} ms, dropped {arrivals['dropped']}"
    )
    print(f"p99 open / closed = {o['p99_ms'] / c['p99_ms']:.0f}x")
    analytic = args.stall_ms - 0.01 * args.every_s * 1000 + c["p50_ms"]
    verdict = closed["verdict"]
    omission = verdict.omission
    if omission is None:
        print("closed run's verdict: no stalls found")
    else:
        stalls = omission.stalls
        print(
            f"closed run's verdict: {verdict.status}, {len(stalls.stalls)} stalls,"
            f" {stalls.lost_s:.1f} s lost ({stalls.fraction:.0%}), arrivals' p99 estimated"
            f" {omission.estimated_p99_ms or 0:.0f} ms (analytic {analytic:.0f} ms,"
            f" open model measured {o['p99_ms']:.0f} ms); latency understated:"
            f" {verdict.latency_understated}"
        )


if __name__ == "__main__":
    sys.exit(main())
