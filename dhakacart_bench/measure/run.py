"""Run a scenario with Locust as a library, headless, and write a run folder.

The orchestrator of the measuring stage. Importing it imports locust, which
monkey-patches gevent: import it before anything that imports ``ssl`` (httpx, psycopg)
in a process that runs load — the CLI imports it inside ``bench run`` only.

Flow: resolve the scenario's size → start the bundled store if no host is given (and
wait for ``/ready``) → check the target answers → build an engine (one process, or a
master and its workers) → feed every request into the HDR
:class:`~dhakacart_bench.measure.recorder.Recorder` → on the end of the shape, Ctrl-C or
SIGTERM, stop and write everything measured → check the store's invariants → write
``run.json`` last.
"""

from __future__ import annotations

# isort: split
import dataclasses
import platform
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import gevent

from dhakacart_bench import __version__
from dhakacart_bench.errors import Interrupted
from dhakacart_bench.measure.config import Progress, RunResult, sized_scenario
from dhakacart_bench.measure.engines.local import LocalEngine
from dhakacart_bench.measure.engines.master import MasterEngine, judge_losses
from dhakacart_bench.measure.health import HostMonitor, per_user
from dhakacart_bench.measure.limits import check_sockets_per_process, resolve_workers
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.measure.sidecars.base import SidecarContext
from dhakacart_bench.measure.sidecars.events import EventsSidecar
from dhakacart_bench.measure.sidecars.probe import ProbeSidecar
from dhakacart_bench.measure.targetproc import watch_target
from dhakacart_bench.measure.targets import (
    bundled_store,
    probe_target,
    resolve_target,
    schedule_deal_opening,
    store_invariants,
)
from dhakacart_bench.runfolder.layout import new_run_dir
from dhakacart_bench.runfolder.meta import RunMeta, UsersMeta
from dhakacart_bench.runfolder.writer import write_measurements, write_run_json

if TYPE_CHECKING:
    from dhakacart_bench.measure.config import ProgressCallback, RunConfig
    from dhakacart_bench.measure.engines.base import Engine
    from dhakacart_bench.measure.sidecars.base import Sidecar
    from dhakacart_bench.scenario.model import Scenario


@contextmanager
def _signals_stop(stop: Callable[[str], None]) -> Iterator[None]:
    """Turn SIGINT / SIGTERM into a clean stop of the run (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = [
        gevent.signal_handler(signal.SIGINT, stop, "interrupted by Ctrl-C (SIGINT)"),
        gevent.signal_handler(signal.SIGTERM, stop, "stopped by SIGTERM"),
    ]
    try:
        yield
    finally:
        for handler in handlers:
            handler.cancel()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "dhakacart_bench": __version__,
        "locust": version("locust"),
        "hdrhistogram": version("hdrhistogram"),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_scenario(config: RunConfig, *, progress: ProgressCallback | None = None) -> RunResult:
    """Run one scenario end to end and return where its run folder is.

    Raises TargetUnreachable / StoreError when nothing could be measured (no
    folder is written). A run stopped by Ctrl-C or SIGTERM still writes
    everything measured and returns with status "interrupted".
    """
    scenario = sized_scenario(config)
    config = resolve_workers(scenario.load.peak_users, config)
    check_sockets_per_process(scenario.load.peak_users, config)
    target = resolve_target(config.host, scenario, source=config.host_source)
    host = target.host
    if host:
        probe_target(host)
        return _measure(
            scenario, config, host=host, store=None, progress=progress, reason=target.reason
        )
    with bundled_store(scenario, config) as store:
        if len(store.urls) > 1 and not config.worker_hosts:
            # spread the workers over the store's addresses: no address pair runs dry
            config = dataclasses.replace(config, worker_hosts=tuple(store.urls))
        return _measure(
            scenario, config, host=store.url, store=store, progress=progress, reason=target.reason
        )


def _measure(
    scenario: Scenario,
    config: RunConfig,
    *,
    host: str,
    store: Any,
    progress: ProgressCallback | None,
    reason: str | None = None,
) -> RunResult:
    load = scenario.load
    engine: Engine
    if config.workers or config.expect_workers:
        engine = MasterEngine(scenario, host, config)
    else:
        engine = LocalEngine(scenario, host, config)
    runner = engine.runner
    stop_reason: list[str] = []

    def request_stop(reason: str) -> None:
        if not stop_reason:
            stop_reason.append(reason)

    sidecar_sections: dict[str, Any] = {}
    failure: BaseException | None = None
    try:
        with _signals_stop(request_stop):
            engine.connect(lambda: bool(stop_reason))
            if stop_reason:
                raise Interrupted(f"{stop_reason[0]} before the load started; nothing measured")
            run_start = time.time()
            started_at = datetime.fromtimestamp(run_start, UTC)
            run_dir = new_run_dir(config.reports_dir, scenario.name, started_at)
            recorder = Recorder(run_start=run_start)
            watch, target_source = watch_target(
                host, store_pid=getattr(store, "pid", None), target_pids=config.target_pids
            )
            host_monitor = HostMonitor(**watch)

            def tick() -> None:
                while True:
                    gevent.sleep(config.tick_s)
                    now = time.time()
                    recorder.set_users(runner.user_count, now)
                    engine.tick(now)
                    host_monitor.sample()
                    recorder.close_windows(now)
                    if progress is not None:
                        progress(
                            Progress(
                                elapsed_s=now - run_start,
                                planned_s=load.duration_s,
                                users=runner.user_count,
                                live=recorder.live(now),
                            )
                        )

            if store is not None and scenario.store.deal_opens_at_s is not None:
                opens_at = datetime.fromtimestamp(run_start + scenario.store.deal_opens_at_s, UTC)
                schedule_deal_opening(store.url, store.admin_token, opens_at)
            sidecars = build_sidecars(scenario)
            sidecar_ctx = SidecarContext(
                scenario=scenario, host=host, store=store, run_start=run_start, run_dir=run_dir
            )
            engine.begin(recorder, run_start, run_dir)
            ticker = gevent.spawn(tick)
            try:
                for sidecar in sidecars:
                    sidecar.start(sidecar_ctx)
                runner.start_shape()
                while not stop_reason:
                    shape = runner.shape_greenlet
                    if shape is None or shape.dead:
                        break
                    gevent.sleep(0.1)
                engine.end()
            except Exception as exc:  # a bug mid-run: keep what was measured, then re-raise
                failure = exc
                request_stop(f"failed: {type(exc).__name__}: {exc}")
            finally:
                for sidecar in sidecars:
                    sidecar_sections[sidecar.name] = sidecar.stop()
                ticker.kill(block=True)
    finally:
        engine.close()
    run_end = time.time()

    measurements = recorder.finish(run_end)
    write_measurements(run_dir, measurements)
    sections = engine.sections()
    workers = sections.workers
    if workers is not None and workers.lost:
        lost = judge_losses(workers.lost, measurements.users_by_second, load)
        workers = dataclasses.replace(workers, lost=lost)
    interrupted = bool(stop_reason)
    invariants = store_invariants(store)
    meta = RunMeta(
        run_id=run_dir.name,
        scenario_name=scenario.name,
        scenario=scenario,
        scenario_path=str(scenario.path),
        host=host,
        target="bundled" if store is not None else "external",
        target_reason=reason,
        workload_model=load.model,
        started_at=started_at.isoformat(),
        ended_at=datetime.fromtimestamp(run_end, UTC).isoformat(),
        duration_s=round(run_end - run_start, 3),
        status="failed" if failure else "interrupted" if interrupted else "completed",
        status_reason=stop_reason[0] if interrupted else None,
        versions=_versions(),
        users=UsersMeta(
            peak=max(measurements.users_by_second.values(), default=0),
            requested_peak=load.peak_users,
            reference_peak=load.reference_users,
        ),
        generator=per_user(
            sections.generator, max(measurements.users_by_second.values(), default=0)
        ),
        arrivals=sections.arrivals,
        workers=workers,
        machine=host_monitor.assess(target_source=target_source, cores=config.busy_cores),
        invariants=invariants,
        errors_overflow=measurements.errors_overflow,
        outcomes=recorder.outcomes.section(run_start),
        sidecars=sidecar_sections,
    )
    write_run_json(run_dir, meta)
    if failure is not None:
        raise failure
    return RunResult(
        run_dir=run_dir,
        status=meta.status,
        meta=meta,
        summary=measurements.summary(),
    )


def measure_on(
    scenario: Scenario,
    config: RunConfig,
    *,
    host: str,
    store: Any = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Measure ``scenario`` as it is (no resizing) against a target already up: ``host``,
    and ``store`` when it is the bundled store (a capacity search runs its levels so)."""
    return _measure(scenario, config, host=host, store=store, progress=progress)


def build_sidecars(scenario: Scenario) -> list[Sidecar]:
    """The sidecars a scenario asks for: the availability probe (``[probe]``) and the
    timed events (``[[events]]``), see :mod:`dhakacart_bench.reliability`; none when
    the scenario has neither."""
    sidecars: list[Sidecar] = []
    if scenario.probe is not None:
        sidecars.append(ProbeSidecar(scenario.probe))
    if scenario.events:
        sidecars.append(EventsSidecar(scenario.events))
    return sidecars
