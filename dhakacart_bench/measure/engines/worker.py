"""The worker side of a distributed run, on Locust's own master/worker channel (ZeroMQ).

- ``bench_scenario``: before it builds its user classes, a worker asks the master for
  the scenario (as ``Scenario.to_dict()``) and the locustfile's source over a temporary
  Locust RPC client — the way Locust's own ``--worker -f -`` downloads a locustfile. The
  master refuses a worker of another dhakacart-bench or Locust version.
- measurements ride on Locust's worker stats report (``report_to_master`` /
  ``worker_report``, every 3 s) under the key ``"bench"``: the closed one-second windows
  as encoded HDR histograms, error deltas, business-outcome tallies
  (:mod:`~dhakacart_bench.measure.outcomes`), and the worker's own CPU / event-loop samples;
  the master merges them exactly (:meth:`~dhakacart_bench.measure.recorder.Recorder.ingest`).
- ``bench_final``: when a worker stops it ships everything still open, so the master
  never loses the last seconds (``MasterRunner.quit`` alone waits only 0.5 s).
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import gevent
from locust.rpc import Message, zmqrpc

from dhakacart_bench.errors import UsageError, WorkersMissing
from dhakacart_bench.measure.arrivals import ArrivalGate, open_model_class
from dhakacart_bench.measure.engines.base import (
    DEFAULT_CONNECT_TIMEOUT_S,
    MSG_FINAL,
    MSG_RUN_START,
    MSG_SCENARIO,
    REPORT_KEY,
    versions,
)
from dhakacart_bench.measure.engines.heartbeat import apply_heartbeat, stop_when_given_up
from dhakacart_bench.measure.engines.locustfile import load_user_classes, with_host
from dhakacart_bench.measure.health import GeneratorMonitor
from dhakacart_bench.measure.limits import raise_open_files_limit
from dhakacart_bench.measure.outcomes import add_listener as add_outcome_listener
from dhakacart_bench.measure.outcomes import remove_listener as remove_outcome_listener
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.measure.shapes import arrival_rate_at
from dhakacart_bench.scenario.model import scenario_from_dict


@dataclass
class WorkerShipper:
    """Packs a worker's measurements for the master: windows, errors, samples."""

    recorder: Recorder
    # (epoch second, CPU %, loop lag ms, users running)
    samples: list[tuple[int, float, float, int]] = field(default_factory=list)

    peak_rss_mib: float = 0.0

    def sample(self, now: float, cpu: float, lag: float, users: int) -> None:
        self.samples.append((int(now), cpu, lag, users))

    def payload(self, now: float, *, final: bool) -> dict[str, Any]:
        if final:
            windows = self.recorder.close_windows(now + 3600.0, grace_s=0.0)
        else:
            windows = self.recorder.close_windows(now)
        samples, self.samples = self.samples, []
        return {
            "windows": [w.to_dict() for w in windows],
            "errors": self.recorder.drain_errors(),
            "outcomes": self.recorder.drain_outcomes(),
            "samples": samples,
            "peak_rss_mib": self.peak_rss_mib,
        }


def fetch_scenario(master_host: str, master_port: int, *, timeout: float) -> dict[str, Any]:
    """Ask the master for the scenario over a temporary Locust RPC client."""
    client_id = f"{socket.gethostname()}_bench_scenario_{uuid4().hex}"
    client = zmqrpc.Client(master_host, master_port, client_id)
    request = Message(MSG_SCENARIO, versions(), client_id)
    done = gevent.event.Event()

    def ask() -> None:
        while not done.is_set():
            client.send(request)
            gevent.sleep(1.0)

    asker = gevent.spawn(ask)
    try:
        reply = gevent.spawn(client.recv).get(timeout=timeout)
    except gevent.Timeout:
        raise WorkersMissing(
            f"no answer from the master at {master_host}:{master_port} within {timeout:.0f} s"
        ) from None
    finally:
        done.set()
        asker.kill()
        client.close(linger=0)
    if reply.type != MSG_SCENARIO:
        raise WorkersMissing(f"unexpected answer {reply.type!r} from the master")
    if "error" in reply.data:
        raise UsageError(f"the master refused this worker: {reply.data['error']}")
    return dict(reply.data)


def materialise_scenario(data: dict[str, Any], workdir: Path) -> Any:
    """Write the shipped locustfile to ``workdir`` and rebuild the Scenario around it."""

    for relative, source in (data.get("locustfile_siblings") or {}).items():
        target = (workdir / relative).resolve()
        if workdir.resolve() not in target.parents:
            continue  # a name that would escape the work directory
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    locustfile = workdir / data["locustfile_name"]
    locustfile.write_text(data["locustfile_source"])
    scenario = dict(data["scenario"])
    scenario["locustfile"] = str(locustfile)
    return scenario_from_dict(scenario)


def run_worker(
    master_host: str,
    master_port: int,
    *,
    host_override: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
) -> int:
    """Serve one master until it quits; return the process exit code."""
    from locust.env import Environment
    from locust.log import setup_logging

    setup_logging("INFO")  # a worker's log is its operator's only window into it
    raise_open_files_limit()
    data = fetch_scenario(master_host, master_port, timeout=connect_timeout)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        scenario = materialise_scenario(data, Path(tmp))
        run_start = float(data["run_start"])
        user_classes = load_user_classes(scenario)
        if host_override:
            user_classes = [with_host(cls, host_override) for cls in user_classes]
        gate: ArrivalGate | None = None
        if scenario.load.model == "open":
            load = scenario.load
            gate = ArrivalGate(
                lambda t: arrival_rate_at(load, t),
                arrival=load.arrival,
                share=1.0 / max(1, int(data["workers"])),
            )
            user_classes = [open_model_class(cls, gate) for cls in user_classes]
        env = Environment(user_classes=user_classes, events=locust.events)
        apply_heartbeat(data.get("heartbeat_liveness"))
        runner = env.create_worker_runner(master_host, master_port)
        given_up: list[bool] = []  # the master gave up on us: the next stop is interim
        stop_when_given_up(runner, before_stop=lambda: given_up.append(True))
        recorder = Recorder(run_start=run_start)
        shipper = WorkerShipper(recorder)
        monitor = GeneratorMonitor()

        def on_report(client_id: str, data: dict[str, Any]) -> None:
            data[REPORT_KEY] = shipper.payload(time.time(), final=False)

        def on_stop(environment: Any, **kwargs: Any) -> None:
            payload = shipper.payload(time.time(), final=True)
            if given_up:
                given_up.clear()
                payload["interim"] = True
            if gate is not None:
                payload["arrivals"] = gate.to_wire()
            runner.send_message(MSG_FINAL, payload)

        # the run's start as the master announces it (the scenario reply predates it by
        # the time the workers took to start and connect)
        started = [run_start]

        def on_run_start(environment: Any, msg: Any, **kwargs: Any) -> None:
            started[0] = float(msg.data["run_start"])

        def on_start(environment: Any, **kwargs: Any) -> None:
            if gate is not None and gate.start_time is None:
                gate.start(started[0])

        def tick() -> None:
            while True:
                gevent.sleep(1.0)
                cpu, lag = monitor.sample()
                shipper.sample(time.time(), cpu, lag, runner.user_count)
                shipper.peak_rss_mib = monitor.peak_rss_mib

        locust.events.request.add_listener(recorder.on_request)
        add_outcome_listener(recorder.on_outcome)
        locust.events.report_to_master.add_listener(on_report)
        locust.events.test_stop.add_listener(on_stop)
        locust.events.test_start.add_listener(on_start)
        runner.register_message(MSG_RUN_START, on_run_start)
        monitor.start()
        ticker = gevent.spawn(tick)
        try:
            runner.greenlet.join()
        finally:
            runner.client.close(linger=0)  # don't let unsent heartbeats hold the process open
            ticker.kill()
            monitor.stop()
            if gate is not None:
                gate.stop()
            remove_outcome_listener(recorder.on_outcome)
            for hook, listener in (
                (locust.events.request, recorder.on_request),
                (locust.events.report_to_master, on_report),
                (locust.events.test_stop, on_stop),
                (locust.events.test_start, on_start),
            ):
                hook.remove_listener(listener)
    return 0
