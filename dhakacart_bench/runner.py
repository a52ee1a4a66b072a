"""Run a scenario with Locust as a library, headless, and write a run folder.

This is the one module (besides the locustfiles) that imports locust: importing
it monkey-patches gevent, so import this module before anything that imports
``ssl`` (httpx, psycopg) in a process that runs load — the CLI imports it inside
``bench run`` only.

Flow: resolve the scenario's size → start the bundled store if no host is given
(and wait for ``/ready``) → check the target answers → build a Locust
``Environment`` with the scenario's user classes and a ``LoadTestShape`` (plus
an :class:`~dhakacart_bench.arrivals.ArrivalGate` for the open model) → feed
every request into the HDR :class:`~dhakacart_bench.metrics.Recorder` → on the
end of the shape, Ctrl-C or SIGTERM, stop and write everything measured →
check the store's invariants → write ``run.json`` last.
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import dataclasses
import importlib.util
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import gevent
from locust.env import Environment

from dhakacart_bench import __version__
from dhakacart_bench.arrivals import ArrivalGate, open_model_class
from dhakacart_bench.errors import Interrupted, ScenarioError, TargetUnreachable, UsageError
from dhakacart_bench.genhealth import GeneratorMonitor, HostMonitor, assess, assess_host
from dhakacart_bench.metrics import LiveStats, Recorder
from dhakacart_bench.runfolder import new_run_dir, write_measurements, write_run_json
from dhakacart_bench.scenario import Scenario
from dhakacart_bench.shapes import arrival_rate_at, make_shape_class
from dhakacart_bench.sidecars import SidecarContext, build_sidecars

DEFAULT_REPORTS_DIR = Path("reports")
DEFAULT_TICK_S = 1.0
#: How long users may take to finish their current request at the end (seconds).
DEFAULT_STOP_TIMEOUT_S = 5.0
DEFAULT_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs; built by the CLI or by a caller's own code."""

    scenario: Scenario
    host: str | None = None  # overrides the scenario's host; None/"" = the bundled store
    users: int | None = None  # peak users; None = the scenario's default (laptop) size
    duration_s: float | None = None  # squeeze the stages into this many seconds
    reports_dir: Path = DEFAULT_REPORTS_DIR
    database_url: str | None = None  # the bundled store's database (None = embedded SQLite)
    store_workers: int | None = None
    tick_s: float = DEFAULT_TICK_S
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S
    workers: int = 0  # local worker processes (master + N workers on this machine)
    expect_workers: int = 0  # remote workers the master waits for (`bench master`)
    master_bind: str = "127.0.0.1"  # the master's listening address (unauthenticated channel!)
    master_port: int = 0  # 0 = a free port (local workers); remote workers need a fixed one
    worker_timeout_s: float = 60.0  # how long to wait for workers to connect
    worker_hosts: tuple[str, ...] = ()  # local workers aim at these target URLs in turn
    deploy_command: str | None = None  # run this command (a deploy) during the run ...
    deploy_at_s: float | None = None  # ... this many seconds after the load starts


@dataclass(frozen=True)
class Progress:
    """What the live progress line shows, once a tick."""

    elapsed_s: float
    planned_s: float
    users: int
    live: LiveStats


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    status: str  # "completed" | "interrupted"
    meta: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]


# -- scenario → Locust ---------------------------------------------------------------
def sized_scenario(config: RunConfig) -> Scenario:
    """The scenario at the size and length this run asks for."""
    scenario = config.scenario
    users = config.users if config.users is not None else scenario.load.default_users
    if users < 1:
        raise ScenarioError(f"--users must be at least 1, got {users}")
    scenario = scenario.scaled(users)
    if config.duration_s is not None:
        scenario = scenario.with_duration(config.duration_s)
    if config.deploy_command is not None:
        from dhakacart_bench.scenario import with_deploy_command

        at_s = config.deploy_at_s
        if at_s is None:
            at_s = scenario.load.duration_s / 3
        scenario = with_deploy_command(scenario, config.deploy_command, at_s)
    return scenario


#: Sockets a load process keeps for itself (logs, the master channel, DNS, ...).
RESERVED_FILES = 512


def sockets_per_process() -> int:
    """How many connections one process of ours may hold: its hard open-files limit, less ours."""
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1] - RESERVED_FILES


def check_sockets_per_process(peak_users: int, config: RunConfig) -> None:
    """Refuse a run whose local load processes would each need more sockets than allowed.

    One user holds one connection; one process may open at most its hard
    open-files limit. Remote workers (``bench master``) judge their own limits.
    """
    import math

    if config.expect_workers:
        return
    processes = max(1, config.workers)
    per_process = math.ceil(peak_users / processes)
    limit = sockets_per_process()
    if per_process > limit:
        needed = math.ceil(peak_users / limit)
        raise UsageError(
            f"{peak_users:,} users in {processes} load process(es) means {per_process:,}"
            f" sockets each, above this machine's open-files limit"
            f" ({limit + RESERVED_FILES:,}); use --workers {needed} or more"
        )


def load_user_classes(scenario: Scenario) -> list[type[locust.User]]:
    """Import the scenario's locustfile and return its user classes, weighted."""
    path = scenario.locustfile
    module_name = f"bench_locustfile_{path.stem}_{abs(hash(str(path)))}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ScenarioError(f"cannot import locustfile {path}", path=str(scenario.path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    classes: list[type[locust.User]] = []
    for spec_ in scenario.users:
        cls = getattr(module, spec_.class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, locust.User)):
            raise ScenarioError(
                f"{spec_.class_name!r} is not a Locust User class in {path}",
                path=str(scenario.path),
                key="users",
            )
        attrs: dict[str, Any] = {
            "weight": spec_.weight,
            "__module__": cls.__module__,
            "on_stop": _closing_on_stop(cls),
        }
        if spec_.fixed_count is not None:
            attrs["fixed_count"] = spec_.fixed_count
        if spec_.think_time is not None:
            attrs["wait_time"] = locust.between(*spec_.think_time)
        classes.append(type(cls.__name__, (cls,), attrs))
    return classes


def with_host(cls: type[locust.User], host: str) -> type[locust.User]:
    """``cls`` aimed at ``host`` whatever the master says (a worker's own target address).

    Locust's worker sets every user class's ``host`` from the master on each spawn
    message; an instance attribute set before the user builds its client wins.
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.host = host
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})


def _close_client(user: Any) -> None:
    """Close a user's HTTP connections (FastHttpSession keeps them in ``.client``)."""
    client = getattr(user, "client", None)
    for candidate in (getattr(client, "client", None), client):
        close = getattr(candidate, "close", None)
        if callable(close):
            close()
            return


def _closing_on_stop(cls: type[locust.User]) -> Callable[[Any], None]:
    """``cls.on_stop``, then close the user's connections: a stopped user leaks no socket."""

    def on_stop(self: Any) -> None:
        try:
            cls.on_stop(self)
        finally:
            _close_client(self)

    return on_stop


# -- the target ----------------------------------------------------------------------
def probe_target(host: str, *, path: str = "/", timeout: float = DEFAULT_PROBE_TIMEOUT_S) -> None:
    """Raise TargetUnreachable unless ``host`` answers HTTP at all (any status)."""
    import httpx

    url = host.rstrip("/") + path
    try:
        httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise TargetUnreachable(
            f"the target {host} did not answer ({type(exc).__name__}: {exc}); "
            "check --host, or leave it out to test the bundled store"
        ) from exc


def schedule_deal_opening(url: str, admin_token: str, opens_at: datetime) -> None:
    """Move the bundled store's flash-sale opening to ``opens_at`` (admin API)."""
    import httpx

    headers = {"X-Admin-Token": admin_token}
    deals = httpx.get(f"{url}/api/deals", timeout=10).json()["items"]
    for deal in deals:
        httpx.put(
            f"{url}/api/admin/deals/{deal['id']}",
            json={"starts_at": opens_at.isoformat()},
            headers=headers,
            timeout=10,
        ).raise_for_status()


#: Above this many users the bundled store is set up for many connections:
#: gevent workers, several listening addresses, enough processes for the sockets.
LARGE_RUN_USERS = 10_000
#: Connections per (client address, server address) pair we allow ourselves;
#: a pair has ~28,000 ephemeral ports, some of them in TIME_WAIT.
CONNECTIONS_PER_ADDRESS = 20_000


def store_settings(scenario: Scenario, config: RunConfig) -> Any:
    """The bundled store's settings for this scenario at this size."""
    import math

    from dhakacart_bench.store import StoreSettings

    spec = scenario.store
    workers = config.store_workers or spec.workers
    users = scenario.load.peak_users
    large: dict[str, Any] = {}
    if users > LARGE_RUN_USERS:
        workers = max(workers, math.ceil(users / sockets_per_process()))
        # one address per local worker when there are workers, at least enough for the pairs
        addresses = min(32, max(math.ceil(users / CONNECTIONS_PER_ADDRESS), config.workers))
        large = {
            "worker_class": "gevent",
            "worker_connections": math.ceil(users / workers) + 1000,
            "extra_hosts": tuple(f"127.0.0.{i}" for i in range(2, addresses + 1)),
        }
    return StoreSettings(
        database_url=config.database_url,
        workers=workers,
        threads=spec.threads,
        products=spec.products,
        deal_stock=spec.deal_stock,
        deal_per_user_limit=spec.deal_per_user_limit,
        users=spec.users,
        faults=dict(spec.faults) if spec.faults else None,
        **large,
    )


@contextmanager
def bundled_store(scenario: Scenario, config: RunConfig) -> Iterator[Any]:
    """Start the reference store for this scenario; stop it afterwards."""
    from dhakacart_bench.store import ManagedStore

    settings = store_settings(scenario, config)
    store = ManagedStore(settings)
    try:
        store.start()
        yield store
    finally:
        store.stop()


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


# -- the run -------------------------------------------------------------------------
def run_scenario(config: RunConfig, *, progress: ProgressCallback | None = None) -> RunResult:
    """Run one scenario end to end and return where its run folder is.

    Raises TargetUnreachable / StoreError when nothing could be measured (no
    folder is written). A run stopped by Ctrl-C or SIGTERM still writes
    everything measured and returns with status "interrupted".
    """
    scenario = sized_scenario(config)
    check_sockets_per_process(scenario.load.peak_users, config)
    host = config.host if config.host is not None else scenario.host
    if host:
        probe_target(host)
        return _measure(scenario, config, host=host, store=None, progress=progress)
    with bundled_store(scenario, config) as store:
        if len(store.urls) > 1 and not config.worker_hosts:
            # spread the workers over the store's addresses: no address pair runs dry
            config = dataclasses.replace(config, worker_hosts=tuple(store.urls))
        return _measure(scenario, config, host=store.url, store=store, progress=progress)


class Engine(Protocol):
    """How the load is generated: one process (LocalEngine) or a master (MasterEngine)."""

    runner: Any

    def connect(self, stopping: Callable[[], bool]) -> None: ...
    def begin(self, recorder: Recorder, run_start: float, run_dir: Path) -> None: ...
    def tick(self, now: float) -> None: ...
    def end(self) -> None: ...
    def close(self) -> None: ...
    def sections(self) -> dict[str, Any]: ...


class LocalEngine:
    """One process: Locust's LocalRunner, with the open model's gate if any."""

    workers = 0

    def __init__(self, scenario: Scenario, host: str, config: RunConfig) -> None:
        user_classes = load_user_classes(scenario)
        load = scenario.load
        self.gate: ArrivalGate | None = None
        if load.model == "open":
            self.gate = ArrivalGate(lambda t: arrival_rate_at(load, t), arrival=load.arrival)
            user_classes = [open_model_class(cls, self.gate) for cls in user_classes]
        env = Environment(
            user_classes=user_classes,
            shape_class=make_shape_class(load)(),
            events=locust.events,
            host=host,
            stop_timeout=config.stop_timeout_s,
        )
        self.runner = env.create_local_runner()
        self.monitor = GeneratorMonitor()
        self.recorder: Recorder | None = None

    def connect(self, stopping: Callable[[], bool]) -> None:
        """Nothing to connect in one process."""

    def begin(self, recorder: Recorder, run_start: float, run_dir: Path) -> None:
        self.recorder = recorder
        locust.events.request.add_listener(recorder.on_request)
        self.monitor.start()
        if self.gate is not None:
            self.gate.start(run_start)

    def tick(self, now: float) -> None:
        assert self.recorder is not None
        cpu, lag = self.monitor.sample()
        self.recorder.set_generator_sample(cpu, lag, now)

    def end(self) -> None:
        self.runner.quit()

    def close(self) -> None:
        self.monitor.stop()
        if self.gate is not None:
            self.gate.stop()
        if self.recorder is not None:
            locust.events.request.remove_listener(self.recorder.on_request)

    def sections(self) -> dict[str, Any]:
        return {
            "generator": assess(self.monitor.samples, processes=1, cpu_count=os.cpu_count()),
            "arrivals": self.gate.stats().to_dict() if self.gate is not None else None,
            "workers": None,
        }


def _measure(
    scenario: Scenario,
    config: RunConfig,
    *,
    host: str,
    store: Any,
    progress: ProgressCallback | None,
) -> RunResult:
    load = scenario.load
    engine: Engine
    if config.workers or config.expect_workers:
        from dhakacart_bench.distributed import MasterEngine

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
            host_monitor = HostMonitor()

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
    if sections["workers"] and sections["workers"]["lost"]:
        from dhakacart_bench.distributed import judge_losses

        sections["workers"]["lost"] = judge_losses(
            sections["workers"]["lost"], measurements.users_by_second, load
        )
    interrupted = bool(stop_reason)
    invariants = store.verify() if store is not None else None
    if invariants is not None:
        # the store lists the checks it ran under "checked"; run.json says "checks"
        invariants = {**invariants, "checks": invariants.get("checked", []), "checked": True}
    meta: dict[str, Any] = {
        "run_id": run_dir.name,
        "scenario_name": scenario.name,
        "scenario": scenario.to_dict(),
        "scenario_path": str(scenario.path),
        "host": host,
        "target": "bundled" if store is not None else "external",
        "workload_model": load.model,
        "started_at": started_at.isoformat(),
        "ended_at": datetime.fromtimestamp(run_end, UTC).isoformat(),
        "duration_s": round(run_end - run_start, 3),
        "status": "failed" if failure else "interrupted" if interrupted else "completed",
        "status_reason": stop_reason[0] if interrupted else None,
        "versions": _versions(),
        "users": {
            "peak": max(measurements.users_by_second.values(), default=0),
            "requested_peak": load.peak_users,
            "reference_peak": load.reference_users,
        },
        **sections,
        "machine": assess_host(host_monitor.samples),
        "invariants": invariants,
        "errors_overflow": measurements.errors_overflow,
        "sidecars": sidecar_sections,
    }
    write_run_json(run_dir, meta)
    if failure is not None:
        raise failure
    return RunResult(
        run_dir=run_dir,
        status=meta["status"],
        meta=meta,
        summary=measurements.summary(),
    )
