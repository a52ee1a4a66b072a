"""CPU cost of each piece of bench's own work during a run, one at a time.

``recorder_overhead.py`` measures the whole (bench vs plain Locust); this says where
bench's extra CPU goes, repeatably, without a load test: each piece is driven as the
run's one-second ticker drives it, on a simulated clock, and its process CPU time
(``time.process_time``) is divided by what it handled.

- per request: ``Recorder.on_request`` with Locust's keyword arguments;
- per second, at ``--rps`` requests a second: ``Recorder.close_windows`` + ``live``
  (the window encoding and the progress numbers);
- per second: ``GeneratorMonitor.sample`` (psutil CPU and memory of this process);
- per second: ``HostMonitor.sample`` (the noisy-neighbour check) with a target found
  by its listening port, as ``bench run --host http://127.0.0.1:PORT`` does; after the
  first 10 s (boot, when the process tree is looked up every second).

    python benchmarks/selfcheck_cost.py [--seconds 60] [--rps 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _targets import static_json  # noqa: E402

from dhakacart_bench.measure.health import GeneratorMonitor, HostMonitor  # noqa: E402
from dhakacart_bench.measure.recorder import Recorder  # noqa: E402
from dhakacart_bench.measure.targetproc import listening_pids  # noqa: E402

BOOT_S = 10


def _cpu_ms(fn: Callable[[], object], times: int) -> float:
    """CPU milliseconds per call of ``fn`` over ``times`` calls."""
    start = time.process_time()
    for _ in range(times):
        fn()
    return (time.process_time() - start) * 1000.0 / times


def recorder_costs(seconds: int, rps: int) -> tuple[float, float]:
    """(µs of CPU per request in on_request, ms of CPU per second in the ticker's
    close_windows + live) at ``rps`` requests a second for ``seconds`` seconds."""
    start = float(int(time.time()))
    warm = Recorder(run_start=start)  # first: imports numpy, as the run's first tick does
    warm.on_request("GET", "/", 1.0, 1, start_time=start)
    warm.live(start + 0.5)
    warm.finish(start + 1)
    recorder = Recorder(run_start=start)
    per_request = 0.0
    per_second = 0.0
    on_request = recorder.on_request
    for second in range(seconds):
        base = start + second
        begin = time.process_time()
        for i in range(rps):
            on_request(
                request_type="GET",
                name="/api/products/[id]",
                response_time=0.4 + (i % 97) * 0.013,
                response_length=64,
                exception=None,
                start_time=base + i / rps,
                response=None,
                context={},
                url="/api/products/1",
            )
        per_request += time.process_time() - begin
        now = base + 1.05
        begin = time.process_time()
        recorder.close_windows(now)
        recorder.live(now)
        per_second += time.process_time() - begin
    return per_request * 1e6 / (seconds * rps), per_second * 1000.0 / seconds


def host_monitor_cost(host: str, seconds: int) -> tuple[float, float]:
    """(ms of CPU per sample during boot, after boot) of a HostMonitor watching the
    process listening on ``host``'s port, on a clock that moves 1 s per sample."""
    now = [0.0]
    monitor = HostMonitor(discover=lambda: listening_pids(host), clock=lambda: now[0])

    def sample() -> None:
        now[0] += 1.0
        monitor.sample()

    boot = _cpu_ms(sample, BOOT_S)
    steady = _cpu_ms(sample, max(1, seconds - BOOT_S))
    assert monitor.target_pids_seen, "the target was not found by its port"
    return boot, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rps", type=int, default=1000)
    args = parser.parse_args()
    per_request_us, window_ms = recorder_costs(args.seconds, args.rps)
    generator = GeneratorMonitor()
    generator_ms = _cpu_ms(generator.sample, args.seconds)
    with static_json() as (host, kind):
        boot_ms, host_ms = host_monitor_cost(host, args.seconds)
    print(f"Recorder.on_request: {per_request_us:.2f} µs CPU per request")
    print(f"Recorder.close_windows + live: {window_ms:.3f} ms CPU per second at {args.rps} req/s")
    print(f"GeneratorMonitor.sample: {generator_ms:.3f} ms CPU per second")
    print(
        f"HostMonitor.sample (target {kind} found by port): {host_ms:.3f} ms CPU per second"
        f" after boot ({boot_ms:.3f} ms in the first {BOOT_S} s)"
    )
    fixed = window_ms + generator_ms + host_ms
    print(
        f"fixed per second: {fixed:.3f} ms; at {args.rps} req/s with on_request:"
        f" {fixed + per_request_us * args.rps / 1000.0:.3f} ms CPU per second"
    )


if __name__ == "__main__":
    main()
