"""``overhead.py``'s users plus a probe: the process's CPU and requests in a window.

For ``benchmarks/recorder_overhead.py --window``: plain ``locust`` and ``bench run -f``
load this same file, so the same code counts both. From ``PROBE_FROM`` to
``PROBE_TO`` seconds after the test starts (defaults 5 and 25) the probe reads the
process's CPU time (``time.process_time``: user + sys of every thread) and counts
completed requests, then writes ``{"cpu_s", "requests", "wall_s"}`` as JSON to
``PROBE_OUT``. Start-up, spawning, stopping and the end-of-run work fall outside the
window, so no differencing of two runs is needed.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from locust import events
from overhead import Flood, Reader

__all__ = ["Flood", "Reader"]

_requests = [0]


@events.request.add_listener
def _count(**_: Any) -> None:
    _requests[0] += 1


def _probe(start_s: float, end_s: float, out: str) -> None:
    gevent.sleep(start_s)
    cpu0, n0, t0 = time.process_time(), _requests[0], time.monotonic()
    gevent.sleep(end_s - start_s)
    cpu1, n1, t1 = time.process_time(), _requests[0], time.monotonic()
    with open(out, "w") as handle:
        json.dump({"cpu_s": cpu1 - cpu0, "requests": n1 - n0, "wall_s": t1 - t0}, handle)


@events.test_start.add_listener
def _start(**_: Any) -> None:
    out = os.environ.get("PROBE_OUT")
    if out:
        start_s = float(os.environ.get("PROBE_FROM", "5"))
        end_s = float(os.environ.get("PROBE_TO", "25"))
        gevent.spawn(_probe, start_s, end_s, out)
