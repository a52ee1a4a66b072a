"""Distributed runs on Locust's own master/worker channel (ZeroMQ).

Nothing here is a protocol of our own: the master is Locust's ``MasterRunner``,
workers are Locust's ``WorkerRunner``, and the few things bench adds travel as
Locust messages:

- ``bench_scenario``: before it builds its user classes, a worker asks the
  master for the scenario (as ``Scenario.to_dict()``) and the locustfile's
  source over a temporary Locust RPC client — the way Locust's own
  ``--worker -f -`` downloads a locustfile. The master refuses a worker of
  another dhakacart-bench or Locust version, with a clear message.
- measurements ride on Locust's worker stats report (``report_to_master`` /
  ``worker_report``, every 3 s) under the key ``"bench"``: the closed
  one-second windows as encoded HDR histograms, error deltas, and the worker's
  own CPU / event-loop samples; the master merges them exactly
  (:meth:`Recorder.ingest`).
- ``bench_final``: when a worker stops it ships everything still open, so the
  master never loses the last seconds (``MasterRunner.quit`` alone waits only
  0.5 s for final reports).

The master also watches Locust's worker table once a second and records any
worker that goes missing: when, which, and how many users it held.
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

from dhakacart_bench import __version__
from dhakacart_bench.arrivals import arrival_stats
from dhakacart_bench.errors import UsageError, WorkersMissing
from dhakacart_bench.genhealth import assess
from dhakacart_bench.metrics import Recorder, WindowData

MSG_SCENARIO = "bench_scenario"
MSG_FINAL = "bench_final"
REPORT_KEY = "bench"
DEFAULT_MASTER_PORT = 5557
#: How long a worker keeps asking the master for the scenario.
DEFAULT_CONNECT_TIMEOUT_S = 60.0
#: How long the master waits, after stopping, for every worker's final shipment.
DEFAULT_FINAL_TIMEOUT_S = 15.0


def versions() -> dict[str, str]:
    return {"dhakacart_bench": __version__, "locust": locust.__version__}


def parse_address(text: str, *, default_port: int = DEFAULT_MASTER_PORT) -> tuple[str, int]:
    """``HOST[:PORT]`` → (host, port); a bad port is a UsageError."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        host, port = text, ""
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise UsageError(f"expected HOST[:PORT], got {text!r}") from None
    if not 0 <= number <= 65535:
        raise UsageError(f"port out of range in {text!r}")
    return host, number


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to the hard one; return the new limit.

    A load process holds one socket per connected user.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return int(hard)


# -- worker side ----------------------------------------------------------------------
@dataclass
class WorkerShipper:
    """Packs a worker's measurements for the master: windows, errors, samples."""

    recorder: Recorder
    # (epoch second, CPU %, loop lag ms, users running)
    samples: list[tuple[int, float, float, int]] = field(default_factory=list)

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
            "samples": samples,
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
    from dhakacart_bench.scenario import scenario_from_dict

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

    from dhakacart_bench.arrivals import ArrivalGate, open_model_class
    from dhakacart_bench.genhealth import GeneratorMonitor
    from dhakacart_bench.runner import load_user_classes, with_host
    from dhakacart_bench.shapes import arrival_rate_at

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
        runner = env.create_worker_runner(master_host, master_port)
        recorder = Recorder(run_start=run_start)
        shipper = WorkerShipper(recorder)
        monitor = GeneratorMonitor()

        def on_report(client_id: str, data: dict[str, Any]) -> None:
            data[REPORT_KEY] = shipper.payload(time.time(), final=False)

        def on_stop(environment: Any, **kwargs: Any) -> None:
            payload = shipper.payload(time.time(), final=True)
            if gate is not None:
                payload["arrivals"] = gate.to_wire()
            runner.send_message(MSG_FINAL, payload)

        def on_start(environment: Any, **kwargs: Any) -> None:
            if gate is not None and gate.start_time is None:
                gate.start(run_start)

        def tick() -> None:
            while True:
                gevent.sleep(1.0)
                cpu, lag = monitor.sample()
                shipper.sample(time.time(), cpu, lag, runner.user_count)

        locust.events.request.add_listener(recorder.on_request)
        locust.events.report_to_master.add_listener(on_report)
        locust.events.test_stop.add_listener(on_stop)
        locust.events.test_start.add_listener(on_start)
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
            for hook, listener in (
                (locust.events.request, recorder.on_request),
                (locust.events.report_to_master, on_report),
                (locust.events.test_stop, on_stop),
                (locust.events.test_start, on_start),
            ):
                hook.remove_listener(listener)
    return 0


# -- master side ----------------------------------------------------------------------
class MasterCoordinator:
    """The master's half: serves the scenario, merges workers' data, watches for losses."""

    def __init__(
        self,
        runner: Any,
        recorder: Recorder,
        *,
        scenario: Any,
        expected: int,
        run_start: float,
    ) -> None:
        self.runner = runner
        self.recorder = recorder
        self.expected = expected
        self.run_start = run_start
        locustfile = Path(scenario.locustfile)
        self._scenario_reply = {
            "scenario": scenario.to_dict(),
            "locustfile_name": locustfile.name,
            "locustfile_source": locustfile.read_text(),
            "run_start": run_start,
            "workers": expected,
            **versions(),
        }
        self.refused: list[str] = []
        self.finals: set[str] = set()
        self.arrivals: list[dict[str, Any]] = []
        self.samples: dict[str, list[tuple[int, float, float, int]]] = {}
        self.seen: dict[str, int] = {}  # worker id → second it first reported
        self.lost: dict[str, dict[str, Any]] = {}
        self.held: dict[str, int] = {}  # worker id → users it ran at the last look
        runner.register_message(MSG_SCENARIO, self._on_scenario_request)
        runner.register_message(MSG_FINAL, self._on_final)
        locust.events.worker_report.add_listener(self._on_report)

    def close(self) -> None:
        locust.events.worker_report.remove_listener(self._on_report)

    # Locust message handlers
    def _on_scenario_request(self, environment: Any, msg: Message) -> None:
        theirs = dict(msg.data or {})
        ours = versions()
        if theirs != ours:
            error = (
                f"version mismatch: master runs dhakacart-bench {ours['dhakacart_bench']} with"
                f" Locust {ours['locust']}, this worker dhakacart-bench"
                f" {theirs.get('dhakacart_bench')} with Locust {theirs.get('locust')};"
                " install the same versions on every machine"
            )
            self.refused.append(f"{msg.node_id}: {error}")
            self.runner.send_message(MSG_SCENARIO, {"error": error}, client_id=msg.node_id)
            return
        self.runner.send_message(MSG_SCENARIO, self._scenario_reply, client_id=msg.node_id)

    def _ingest(self, client_id: str, payload: dict[str, Any]) -> None:
        windows = [WindowData.from_dict(w) for w in payload.get("windows", [])]
        self.recorder.ingest(windows, payload.get("errors", []))
        self.samples.setdefault(client_id, []).extend(
            (int(s), float(c), float(lag), int(u)) for s, c, lag, u in payload.get("samples", [])
        )

    def _on_report(self, client_id: str, data: dict[str, Any]) -> None:
        payload = data.get(REPORT_KEY)
        if payload:
            self.seen.setdefault(client_id, int(time.time() - self.run_start))
            self._ingest(client_id, payload)

    def _on_final(self, environment: Any, msg: Message) -> None:
        self._ingest(msg.node_id, msg.data)
        if "arrivals" in msg.data:
            self.arrivals.append(msg.data["arrivals"])
        self.finals.add(msg.node_id)

    # the run's phases
    def watch(self, now: float) -> None:
        """Record workers that went missing or quit since the last look."""
        from locust.runners import STATE_MISSING

        second = int(now - self.run_start)
        present = {}
        for client in self.runner.clients.values():
            present[client.id] = client
            if client.state != STATE_MISSING:
                # Locust empties a missing worker's counts: remember them while it lives
                self.held[client.id] = int(sum(client.user_classes_count.values()))
                loss = self.lost.get(client.id)
                if loss is not None and "returned_at_s" not in loss:
                    loss["returned_at_s"] = second  # slow, not dead: it heartbeats again
            elif client.id not in self.lost:
                self.lost[client.id] = {
                    "worker": client.id,
                    "lost_at_s": second,
                    "users_held": self.held.get(client.id),
                    "how": "missed heartbeats",
                }
        for worker in self.seen:
            if worker not in present and worker not in self.lost and worker not in self.finals:
                self.lost[worker] = {
                    "worker": worker,
                    "lost_at_s": second,
                    "users_held": self.held.get(worker),
                    "how": "disconnected",
                }

    def wait_for_finals(self, timeout: float = DEFAULT_FINAL_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = {w for w in self.seen if w not in self.lost}
            if alive <= self.finals:
                return
            gevent.sleep(0.1)

    def generator_health(self, cpu_count: int | None) -> dict[str, Any]:
        """Judge the busiest worker each second; keep each worker's own verdict too."""
        by_second = self.generator_samples()
        overall = assess(
            [by_second[s] for s in sorted(by_second)],
            processes=len(self.samples),
            cpu_count=cpu_count,
        )
        overall["workers"] = {
            worker: {
                k: v
                for k, v in assess([(c, lag) for _, c, lag, _ in samples]).items()
                if k in ("cpu_pct_p50", "cpu_pct_max", "lag_ms_p99", "saturated")
            }
            for worker, samples in sorted(self.samples.items())
        }
        return overall

    def generator_samples(self) -> dict[int, tuple[float, float]]:
        """Per run-second (max CPU, max lag) over the workers, for the time series."""
        out: dict[int, tuple[float, float]] = {}
        for samples in self.samples.values():
            for epoch_second, cpu, lag, _ in samples:
                second = epoch_second - int(self.run_start)
                old = out.get(second, (0.0, 0.0))
                out[second] = (max(old[0], cpu), max(old[1], lag))
        return out

    def users_by_second(self) -> dict[int, int]:
        """Users actually running, per run-second: the sum of what each worker reported.

        Locust's master keeps its own tally from spawn messages and heartbeats; on a
        busy machine, where workers miss heartbeats and come back, it over-counts.
        The workers' own counts are the truth. A worker counts from its first to its
        last sample (a lost worker stops counting when it stopped reporting).
        """
        total: dict[int, int] = {}
        for samples in self.samples.values():
            last: dict[int, int] = {}
            for epoch_second, _, _, users in samples:
                last[epoch_second - int(self.run_start)] = users
            if not last:
                continue
            current = 0
            for second in range(min(last), max(last) + 1):
                current = last.get(second, current)
                total[second] = total.get(second, 0) + current
        return total

    def section(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "reported": sorted(self.seen),
            "finals_received": len(self.finals),
            "lost": sorted(self.lost.values(), key=lambda w: w["lost_at_s"]),
        }

    def arrival_section(self) -> dict[str, Any] | None:
        return arrival_stats(*self.arrivals).to_dict() if self.arrivals else None


class MasterEngine:
    """A Locust master in this process, and N local worker processes if asked.

    ``bench run --workers N`` starts the workers here (each in its own session,
    so Ctrl-C reaches only the master, which then stops them cleanly);
    ``bench master --expect-workers N`` waits for remote ones.
    """

    def __init__(self, scenario: Any, host: str, config: Any) -> None:
        import sys
        from subprocess import DEVNULL, Popen

        from locust.env import Environment

        from dhakacart_bench.runner import load_user_classes
        from dhakacart_bench.shapes import make_shape_class

        self.scenario = scenario
        self.config = config
        self.expected = config.workers or config.expect_workers
        env = Environment(
            user_classes=load_user_classes(scenario),
            shape_class=make_shape_class(scenario.load)(),
            events=locust.events,
            host=host,
            stop_timeout=config.stop_timeout_s,
        )
        # No --enable-rebalancing: on a busy generator a worker misses heartbeats
        # without dying, and rebalancing would then run its users twice. A worker
        # that is really gone has its users moved by Locust after its dead-worker
        # interval (60 s); judge_losses() records whether that happened in time.
        self.runner = env.create_master_runner(
            master_bind_host=config.master_bind, master_bind_port=config.master_port
        )
        self.port = int(self.runner.server.port)
        self.recorder: Recorder | None = None
        self.run_dir: Path | None = None
        self.logs = Path(tempfile.mkdtemp(prefix="bench-workers-"))
        self.procs: list[Any] = []
        # the coordinator needs a recorder; workers only report after the load starts,
        # so a placeholder recorder serves the scenario requests until begin()
        self.coordinator = MasterCoordinator(
            self.runner,
            Recorder(run_start=time.time()),
            scenario=scenario,
            expected=self.expected,
            run_start=time.time(),
        )
        hosts = list(config.worker_hosts) or [None]
        master = "127.0.0.1" if config.master_bind in ("*", "0.0.0.0", "") else config.master_bind
        for index in range(config.workers):
            cmd = [sys.executable, "-m", "dhakacart_bench", "worker", "--master",
                   f"{master}:{self.port}"]  # fmt: skip
            target = hosts[index % len(hosts)]
            if target:
                cmd += ["--host", target]
            log = (self.logs / f"worker-{index + 1}.log").open("w")
            self.procs.append(
                Popen(cmd, stdout=log, stderr=log, stdin=DEVNULL, start_new_session=True)
            )
            log.close()

    def _log_tail(self) -> str:
        tails = []
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").strip().splitlines()[-5:]
            if lines:
                tails.append(f"{log.name}: " + " | ".join(lines))
        return ("; " + "; ".join(tails)) if tails else ""

    def connect(self, stopping: Any) -> None:
        deadline = time.monotonic() + self.config.worker_timeout_s
        while len(self.runner.clients.ready) < self.expected and not stopping():
            if self.coordinator.refused:
                raise UsageError(self.coordinator.refused[0])
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise WorkersMissing(
                    f"{len(dead)} local worker(s) exited before the run started{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise WorkersMissing(
                    f"{len(self.runner.clients.ready)} of {self.expected} workers connected within"
                    f" {self.config.worker_timeout_s:.0f} s (master listening on"
                    f" {self.config.master_bind}:{self.port}){self._log_tail()}"
                )
            gevent.sleep(0.1)

    def begin(self, recorder: Recorder, run_start: float, run_dir: Path) -> None:
        self.recorder = recorder
        self.run_dir = run_dir
        self.coordinator.recorder = recorder
        self.coordinator.run_start = run_start

    def tick(self, now: float) -> None:
        self.coordinator.watch(now)

    def end(self) -> None:
        assert self.recorder is not None
        self.runner.stop()
        self.coordinator.wait_for_finals()
        self.coordinator.watch(time.time())
        # A stopped worker leaves Locust's table until it reports ready again
        # (stop_timeout later), and MasterRunner.quit() only tells the workers in
        # the table: tell every worker that took part, so none is left waiting.
        listed = {client.id for client in self.runner.clients.all}
        for worker_id in self.coordinator.seen:
            if worker_id not in listed:
                self.runner.server.send_to_client(Message("quit", None, worker_id))
        self.runner.quit()
        run_start = self.coordinator.run_start
        for second, (cpu, lag) in sorted(self.coordinator.generator_samples().items()):
            self.recorder.set_generator_sample(cpu, lag, run_start + second + 0.5)
        for second, users in sorted(self.coordinator.users_by_second().items()):
            self.recorder.set_users(users, run_start + second + 0.5)

    def close(self) -> None:
        import shutil

        self.coordinator.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
                proc.wait()
        if self.procs and self.run_dir is not None:
            target = self.run_dir / "workers"
            shutil.copytree(self.logs, target, dirs_exist_ok=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.runner.greenlet.kill(block=False)

    def sections(self) -> dict[str, Any]:
        import os

        return {
            "generator": self.coordinator.generator_health(os.cpu_count()),
            "arrivals": self.coordinator.arrival_section(),
            "workers": self.coordinator.section(),
        }


#: A lost worker's load counts as restored when the users are back to this share
#: of the shape's target within RESTORE_WINDOW_S seconds.
RESTORED_FRACTION = 0.95
RESTORE_WINDOW_S = 15


def judge_losses(
    lost: list[dict[str, Any]], users_by_second: dict[int, int], load: Any
) -> list[dict[str, Any]]:
    """Add to each lost worker whether (and how fast) its users were brought back."""
    from dhakacart_bench.shapes import target_at

    judged = []
    for loss in lost:
        start = int(loss["lost_at_s"])
        restored_after = None
        for second in range(start, start + RESTORE_WINDOW_S + 1):
            target = target_at(load, second)
            if target is None:  # the run ended with the load still missing
                break
            if users_by_second.get(second, 0) >= RESTORED_FRACTION * target[0]:
                restored_after = second - start
                break
        judged.append({**loss, "restored_after_s": restored_after})
    return judged
