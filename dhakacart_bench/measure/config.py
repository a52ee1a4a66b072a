"""What one run needs (:class:`RunConfig`), what it reports while running
(:class:`Progress`) and what it returns (:class:`RunResult`).

The defaults come from the settings table (:mod:`dhakacart_bench.settings`).
:func:`sized_scenario` applies ``--users``, ``--duration`` and ``--deploy-cmd`` to the
scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dhakacart_bench.errors import ScenarioError, UsageError
from dhakacart_bench.runfolder.meta import RunMeta, Summary
from dhakacart_bench.scenario.model import with_deploy_command
from dhakacart_bench.settings import default

if TYPE_CHECKING:
    from dhakacart_bench.measure.recorder import LiveStats
    from dhakacart_bench.scenario.model import Scenario


#: How often the runner samples users, generator health and the live figures (seconds).
DEFAULT_TICK_S = 1.0
# the defaults of the settings table (dhakacart_bench.settings), as RunConfig's defaults
DEFAULT_REPORTS_DIR: Path = default("reports_dir")
DEFAULT_DATABASE_URL: str | None = default("database_url")
DEFAULT_STORE_WORKERS: int | None = default("store_workers")
DEFAULT_STOP_TIMEOUT_S: float = default("stop_timeout_s")
DEFAULT_WORKERS: int = default("workers")
DEFAULT_WORKER_TIMEOUT_S: float = default("worker_timeout_s")
DEFAULT_HEARTBEAT_LIVENESS: int = default("heartbeat_liveness")
DEFAULT_BUSY_CORES: float = default("busy_cores")


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs; built by the CLI or by a caller's own code."""

    scenario: Scenario
    host: str | None = None  # overrides the scenario's host; None/"" = the bundled store
    host_source: str | None = None  # where ``host`` came from, for the target line
    users: int | None = None  # peak users; None = the scenario's default (laptop) size
    duration_s: float | None = None  # squeeze the stages into this many seconds
    reports_dir: Path = DEFAULT_REPORTS_DIR
    database_url: str | None = DEFAULT_DATABASE_URL  # None = embedded SQLite
    store_workers: int | None = DEFAULT_STORE_WORKERS  # None = the scenario's [store]
    tick_s: float = DEFAULT_TICK_S
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S
    workers: int = DEFAULT_WORKERS  # local worker processes (master + N workers here)
    expect_workers: int = 0  # remote workers the master waits for (`bench master`)
    master_bind: str = "127.0.0.1"  # the master's listening address (unauthenticated channel!)
    master_port: int = 0  # 0 = a free port (local workers); remote workers need a fixed one
    worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S  # for workers to connect
    heartbeat_liveness: int = DEFAULT_HEARTBEAT_LIVENESS  # missed beats before "missing"
    worker_hosts: tuple[str, ...] = ()  # local workers aim at these target URLs in turn
    deploy_command: str | None = None  # run this command (a deploy) during the run ...
    deploy_at_s: float | None = None  # ... this many seconds after the load starts
    #: the target's processes (roots of trees) on this machine that the automatic search
    #: (whoever listens on --host's port) cannot see; not counted as foreign CPU
    target_pids: tuple[int, ...] = ()
    #: other processes' cores that make a second busy (the noisy-neighbour knob)
    busy_cores: float = DEFAULT_BUSY_CORES


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
    status: str  # "completed" | "interrupted" | "failed"
    meta: RunMeta
    summary: Summary


ProgressCallback = Callable[[Progress], None]


def sized_scenario(config: RunConfig) -> Scenario:
    """The scenario at the size and length this run asks for."""
    scenario = config.scenario
    if scenario.shape_class is not None and (config.users or config.duration_s):
        raise UsageError(
            f"{scenario.shape_class} (a LoadTestShape) sets the users and the length:"
            " --users and --duration do not apply"
        )
    users = config.users if config.users is not None else scenario.load.default_users
    if users < 1:
        raise ScenarioError(f"--users must be at least 1, got {users}")
    scenario = scenario.scaled(users)
    if config.duration_s is not None:
        scenario = scenario.with_duration(config.duration_s)
    if config.deploy_command is not None:
        at_s = config.deploy_at_s
        if at_s is None:
            at_s = scenario.load.duration_s / 3
        scenario = with_deploy_command(scenario, config.deploy_command, at_s)
    return scenario
