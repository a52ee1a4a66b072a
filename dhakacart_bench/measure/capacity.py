"""Driving a capacity search: one open-model level after another against one target.

:func:`drive_capacity` starts the bundled store once (or checks ``--host`` answers),
then asks ``decide(levels)`` what to try next and runs it: the scenario's own user mix
in the open model at that arrival rate, with the pool of users the decision sized, for
warm-up + hold seconds, as an ordinary run folder under ``<capacity folder>/levels/``
(measured by :func:`~dhakacart_bench.measure.run.measure_on`, so every level has the
recorder's exact histograms, generator health and arrival counts). ``judge(...)`` turns
each level folder into a judged level. The decisions and the judging are the analysis
stage's (:mod:`dhakacart_bench.analysis.capacity_search`); the caller passes them in, so
this stage does not import that one. The drive ends when ``decide`` says so, when the
budget has no room for the next level, or on Ctrl-C / SIGTERM.

Imports locust (through :mod:`dhakacart_bench.measure.run`): import it in the process
that runs load only.
"""

from __future__ import annotations

from dhakacart_bench.measure import run as _run  # first: locust patches gevent

# isort: split
import dataclasses
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dhakacart_bench.measure.config import Progress, RunConfig
from dhakacart_bench.measure.engines.locustfile import load_user_classes
from dhakacart_bench.measure.limits import resolve_workers
from dhakacart_bench.measure.shapes import OPEN_POOL_FILL_S
from dhakacart_bench.measure.targets import bundled_store, probe_target, store_settings
from dhakacart_bench.runfolder.capacity import LEVELS_DIR
from dhakacart_bench.runfolder.layout import new_run_dir
from dhakacart_bench.scenario.model import LoadSpec, Scenario, Stage

#: Seconds a level costs beyond its load (engine start, pool spawn, folder writing).
LEVEL_OVERHEAD_S = 2.0
#: The drive never runs more levels than this, whatever ``decide`` says.
MAX_LEVELS = 60
#: Seconds without arrivals at the start of a level while its pool spawns.
QUIET_S = OPEN_POOL_FILL_S + 0.5
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


@dataclass(frozen=True)
class CapacityConfig:
    """What one capacity search needs (the level settings travel in the decisions)."""

    scenario: Scenario
    run: RunConfig  # reports_dir, database_url, store_workers, workers, timeouts
    budget_s: float = 300.0
    warmup_s: float = 3.0
    arrival: str | None = None  # None = the scenario's (poisson unless it says uniform)


@dataclass(frozen=True)
class LevelProgress:
    """What the live line shows during a level."""

    index: int
    rate: float
    purpose: str
    pool: int
    bracket: tuple[float | None, float | None]
    elapsed_s: float
    budget_s: float
    level: Progress


@dataclass(frozen=True)
class CapacityDrive:
    """What was driven: the folder, the judged levels, why it ended, the target."""

    folder: Path
    levels: list[Any]
    status: str
    reason: str | None
    host: str
    target: str
    shares_machine: bool
    store: dict[str, Any] | None
    started_at: str
    elapsed_s: float
    think_s: float | None
    arrival: str
    generator_processes: int


def level_scenario(
    scenario: Scenario, *, rate: float, pool: int, seconds: float, arrival: str, index: int
) -> Scenario:
    """The scenario's users and SLOs, as one open-model level of ``rate`` arrivals/s.

    No arrivals while the pool of users spawns (the first :data:`QUIET_S` seconds, part
    of the warm-up), so no arrival waits for a user that does not exist yet.
    """
    quiet = min(QUIET_S, seconds / 2)
    load = LoadSpec(
        model="open",
        stages=(
            Stage(duration_s=quiet, arrival_rate=0.0),
            Stage(duration_s=seconds - quiet, arrival_rate=rate),
        ),
        reference_users=pool,
        default_users=pool,
        max_users=pool,
        arrival=arrival,  # type: ignore[arg-type]
    )
    store = dataclasses.replace(scenario.store, deal_opens_at_s=None)  # open from the start
    return dataclasses.replace(
        scenario,
        name=f"{scenario.name}-level{index:02d}",
        load=load,
        store=store,
        events=(),
        probe=None,
    )


def think_time_s(scenario: Scenario, *, samples: int = 400, seed: int = 7) -> float | None:
    """The scenario's mean wait between tasks (weighted by its users' weights), sampled
    from the user classes' own ``wait_time``; None when one of them cannot be sampled."""
    random.seed(seed)
    total = weight = 0.0
    classes = load_user_classes(scenario)
    for spec, cls in zip(scenario.users, classes, strict=False):
        wait = getattr(cls, "wait_time", None)
        if wait is None:
            return None
        probe = object.__new__(cls)
        try:
            mean = sum(float(wait(probe)) for _ in range(samples)) / samples
        except Exception:  # a wait_time that needs a running user (constant_pacing ...)
            return None
        share = float(spec.fixed_count or spec.weight)
        total += mean * share
        weight += share
    return round(total / weight, 4) if weight else None


def _shares_machine(host: str) -> bool:
    return (urlsplit(host).hostname or "") in LOCAL_HOSTS or (
        urlsplit(host).hostname or ""
    ).startswith("127.")


def _scrape(url: str) -> str | None:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/metrics", timeout=5)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


@contextmanager
def _target(config: CapacityConfig) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    scenario = config.scenario
    host = config.run.host if config.run.host is not None else scenario.host
    if host:
        probe_target(host)
        yield host, None, None
        return
    # the store as the scenario's [store] describes it, sized for its default size
    # (not for the reference size a closed scenario is written at)
    sized = scenario.scaled(scenario.load.default_users)
    with bundled_store(sized, config.run) as store:
        settings = store_settings(sized, config.run)
        database = (
            "PostgreSQL" if (config.run.database_url or "").startswith("postgres") else ("SQLite")
        )
        described = {
            "workers": settings.workers,
            "threads": settings.threads,
            "worker_class": settings.worker_class,
            "database": database,
        }
        yield store.url, store, described


def drive_capacity(
    config: CapacityConfig,
    *,
    decide: Callable[[list[Any]], Any],
    judge: Callable[..., Any],
    bracket: Callable[[list[Any]], tuple[float | None, float | None]],
    progress: Callable[[LevelProgress], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CapacityDrive:
    """Run levels until ``decide`` returns an end (an object with ``status`` and
    ``reason``), the budget is spent, or the search is interrupted.

    ``decide(levels)`` returns the next level (``rate``, ``purpose``, ``pool``,
    ``hold_s``) or an end; ``judge(run_dir, next_level, index=, warmup_s=, run_dir_name=,
    previous=, metrics_before=, metrics_after=)`` returns the judged level.
    """
    scenario = config.scenario
    # --workers auto: sized once for the search (every level runs on the same processes)
    config = dataclasses.replace(config, run=resolve_workers(scenario.load.peak_users, config.run))
    arrival = config.arrival or scenario.load.arrival
    levels: list[Any] = []
    status, reason = "levels", f"stopped after {MAX_LEVELS} levels"
    think_s = think_time_s(scenario)
    t0 = clock()
    with _target(config) as (url, store, described):
        # the folder exists only once the target answers: nothing measured, nothing written
        started = datetime.now(UTC)
        folder = new_run_dir(config.run.reports_dir, f"{scenario.name}-capacity", started)
        levels_dir = folder / LEVELS_DIR
        for index in range(1, MAX_LEVELS + 1):
            step = decide(levels)
            if not hasattr(step, "rate"):
                status, reason = step.status, step.reason
                break
            seconds = config.warmup_s + step.hold_s
            elapsed = clock() - t0
            if elapsed + seconds + LEVEL_OVERHEAD_S > config.budget_s:
                status = "budget"
                reason = (
                    f"the budget ({config.budget_s:g} s) has no room for the next level "
                    f"({step.rate:g} arrivals/s, {seconds:g} s)"
                )
                break
            level = level_scenario(
                scenario,
                rate=step.rate,
                pool=step.pool,
                seconds=seconds,
                arrival=arrival,
                index=index,
            )
            run_config = dataclasses.replace(
                config.run, scenario=level, reports_dir=levels_dir, users=None, duration_s=None
            )
            on_level = None
            if progress is not None:
                here = (index, step, bracket(levels))

                def on_level(p: Progress, here: Any = here) -> None:
                    i, s, b = here
                    progress(
                        LevelProgress(
                            i, s.rate, s.purpose, s.pool, b, clock() - t0, config.budget_s, p
                        )
                    )

            before = _scrape(url) if store is not None else None
            result = _run.measure_on(level, run_config, host=url, store=store, progress=on_level)
            after = _scrape(url) if store is not None else None
            levels.append(
                judge(
                    result.run_dir,
                    step,
                    index=index,
                    warmup_s=config.warmup_s,
                    run_dir_name=str(result.run_dir.relative_to(folder)),
                    previous=list(levels),
                    metrics_before=before,
                    metrics_after=after,
                )
            )
            if result.status != "completed":
                status, reason = "interrupted", result.meta.status_reason or result.status
                break
    return CapacityDrive(
        folder=folder,
        levels=levels,
        status=status,
        reason=reason,
        host=url,
        target="bundled" if described is not None else "external",
        shares_machine=described is not None or _shares_machine(url),
        store=described,
        started_at=started.isoformat(),
        elapsed_s=clock() - t0,
        think_s=think_s,
        arrival=arrival,
        generator_processes=max(1, config.run.workers),
    )
