"""The master engine: a Locust ``MasterRunner`` in this process, and N local worker
processes if asked; the coordinator that merges the workers' measurements.

Nothing here is a protocol of our own: the master is Locust's ``MasterRunner``, workers
are Locust's ``WorkerRunner``, and the few things bench adds travel as Locust messages
(see :mod:`~dhakacart_bench.measure.engines.worker`). The master also watches Locust's
worker table once a second and records any worker that goes missing: when, which, and
how many users it held; :func:`judge_losses` then says whether its load came back.
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import dataclasses
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gevent
from locust.rpc import Message

from dhakacart_bench.errors import UsageError, WorkersMissing
from dhakacart_bench.measure.arrivals import arrival_stats
from dhakacart_bench.measure.engines.base import (
    DEFAULT_FINAL_TIMEOUT_S,
    MSG_FINAL,
    MSG_RUN_START,
    MSG_SCENARIO,
    REPORT_KEY,
    EngineSections,
    sibling_sources,
    versions,
)
from dhakacart_bench.measure.engines.heartbeat import apply_heartbeat, tell_missing
from dhakacart_bench.measure.engines.locustfile import load_shape, load_user_classes
from dhakacart_bench.measure.health import assess
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.measure.shapes import target_at
from dhakacart_bench.runfolder.meta import ArrivalsMeta, GeneratorMeta, WorkerLoss, WorkersMeta
from dhakacart_bench.runfolder.windows import WindowData
from dhakacart_bench.scenario.model import LoadSpec


def _own_rss_mib() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / (1 << 20)


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
        heartbeat_liveness: int | None = None,
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
            "locustfile_siblings": sibling_sources(locustfile),
            "run_start": run_start,
            "workers": expected,
            "heartbeat_liveness": heartbeat_liveness,
            **versions(),
        }
        self.refused: list[str] = []
        self.finals: set[str] = set()
        self.arrivals: list[dict[str, Any]] = []
        self.samples: dict[str, list[tuple[int, float, float, int]]] = {}
        self.seen: dict[str, int] = {}  # worker id → second it first reported
        self.lost: dict[str, dict[str, Any]] = {}
        self.held: dict[str, int] = {}  # worker id → users it ran at the last look
        self.peak_rss: dict[str, float] = {}  # worker id → its peak resident MiB
        self.own_peak_rss = _own_rss_mib()
        runner.register_message(MSG_SCENARIO, self._on_scenario_request)
        runner.register_message(MSG_FINAL, self._on_final)
        locust.events.worker_report.add_listener(self._on_report)

    def close(self) -> None:
        locust.events.worker_report.remove_listener(self._on_report)

    def announce_start(self, run_start: float) -> None:
        """The run starts at ``run_start``: tell every worker (before the first spawn, on
        the same ordered channel), and any that asks for the scenario from now on."""
        self.run_start = run_start
        self._scenario_reply["run_start"] = run_start
        self.runner.send_message(MSG_RUN_START, {"run_start": run_start})

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
        self.recorder.ingest(windows, payload.get("errors", []), payload.get("outcomes", []))
        if "peak_rss_mib" in payload:
            self.peak_rss[client_id] = max(
                self.peak_rss.get(client_id, 0.0), float(payload["peak_rss_mib"])
            )
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
        if msg.data.get("interim"):  # it stopped because we gave up on it; it comes back
            return
        if "arrivals" in msg.data:
            self.arrivals.append(msg.data["arrivals"])
        self.finals.add(msg.node_id)

    # the run's phases
    def watch(self, now: float) -> None:
        """Record workers that went missing or quit since the last look."""
        from locust.runners import STATE_MISSING

        self.own_peak_rss = max(self.own_peak_rss, _own_rss_mib())
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
            elif client.id not in self.lost or "returned_at_s" in self.lost[client.id]:
                if client.id in self.lost:  # lost before and came back: keep that loss too
                    earlier = self.lost.pop(client.id)
                    self.lost[f"{client.id}@{earlier['lost_at_s']}"] = earlier
                self.lost[client.id] = {
                    "worker": client.id,
                    "lost_at_s": second,
                    "users_held": self.held.get(client.id),
                    "how": "missed heartbeats",
                }
                # Locust hands its users to the others but never tells it: we do
                tell_missing(self.runner, client.id, users=self.held.get(client.id))
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

    def generator_health(self, cpu_count: int | None) -> GeneratorMeta:
        """Judge the busiest worker each second; keep each worker's own verdict too."""
        by_second = self.generator_samples()
        overall = assess(
            [by_second[s] for s in sorted(by_second)],
            processes=len(self.samples),
            cpu_count=cpu_count,
            peak_rss_mib=self.own_peak_rss + sum(self.peak_rss.values()),
        )
        workers = {}
        for worker, samples in sorted(self.samples.items()):
            own = assess([(c, lag) for _, c, lag, _ in samples])
            workers[worker] = {
                "cpu_pct_p50": own.cpu_pct_p50,
                "cpu_pct_max": own.cpu_pct_max,
                "lag_ms_p99": own.lag_ms_p99,
                "saturated": own.saturated,
            }
        return dataclasses.replace(overall, workers=workers)

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

    def section(self) -> WorkersMeta:
        lost = sorted(self.lost.values(), key=lambda w: w["lost_at_s"])
        return WorkersMeta(
            expected=self.expected,
            reported=tuple(sorted(self.seen)),
            finals_received=len(self.finals),
            lost=tuple(WorkerLoss(**loss) for loss in lost),
        )

    def arrival_section(self) -> ArrivalsMeta | None:
        return arrival_stats(*self.arrivals) if self.arrivals else None


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

        self.scenario = scenario
        self.config = config
        self.expected = config.workers or config.expect_workers
        apply_heartbeat(config.heartbeat_liveness)
        env = Environment(
            user_classes=load_user_classes(scenario),
            shape_class=load_shape(scenario),
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
            heartbeat_liveness=config.heartbeat_liveness,
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
        self.coordinator.announce_start(run_start)

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

    def sections(self) -> EngineSections:
        return EngineSections(
            generator=self.coordinator.generator_health(os.cpu_count()),
            arrivals=self.coordinator.arrival_section(),
            workers=self.coordinator.section(),
        )


#: A lost worker's load counts as restored when the users are back to this share
#: of the shape's target within RESTORE_WINDOW_S seconds.
RESTORED_FRACTION = 0.95
RESTORE_WINDOW_S = 15


def judge_losses(
    lost: Sequence[WorkerLoss], users_by_second: Mapping[int, int], load: LoadSpec
) -> tuple[WorkerLoss, ...]:
    """Each lost worker with whether (and how fast) its users were brought back."""
    judged = []
    for loss in lost:
        start = int(loss.lost_at_s)
        restored_after = None
        for second in range(start, start + RESTORE_WINDOW_S + 1):
            target = target_at(load, second)
            if target is None:  # the run ended with the load still missing
                break
            if users_by_second.get(second, 0) >= RESTORED_FRACTION * target[0]:
                restored_after = second - start
                break
        judged.append(dataclasses.replace(loss, restored_after_s=restored_after))
    return tuple(judged)
