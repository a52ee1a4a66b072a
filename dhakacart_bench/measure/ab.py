"""An A/B run: the same Locust users drive a candidate and a baseline at the same time.

Flow: start the bundled store of each arm that has no URL (two instances, each with a
fresh SQLite database, both with one PYTHONHASHSEED; the candidate's settings overridden
— a fault knob, a worker count), check both answer (naming the arm that does not), run
the scenario with every user assigned to one arm (:mod:`dhakacart_bench.measure.arms`),
record each arm in its own recorder (one ``run_start``, so seconds line up), and every
``every_s`` seconds hand both arms' closed windows to the injected ``looker`` — the
gate's decision, which lives above this package — in a child process
(:mod:`~dhakacart_bench.measure.lookproc`, so its CPU never stalls the event loop),
stopping as soon as it decides. Then write ``candidate/`` and ``baseline/`` as complete
run folders and ``ab.json`` beside them (:mod:`dhakacart_bench.runfolder.ab`).

One process only (Locust's local runner): both arms' requests come from the same event
loop, which is what makes the generator's own noise common to both.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import gevent

from dhakacart_bench.errors import Interrupted, TargetUnreachable, UsageError
from dhakacart_bench.measure.arms import ArmAssigner, ArmRecorders, arm_of, with_arms
from dhakacart_bench.measure.config import Progress, sized_scenario
from dhakacart_bench.measure.engines.local import LocalEngine
from dhakacart_bench.measure.health import HostMonitor
from dhakacart_bench.measure.limits import AUTO_WORKERS
from dhakacart_bench.measure.lookproc import LookerProcess, LookFailed
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.measure.run import _signals_stop, _versions
from dhakacart_bench.measure.targetproc import watch_arms
from dhakacart_bench.measure.targets import probe_target, store_invariants, store_settings
from dhakacart_bench.runfolder.ab import (
    ARMS,
    BASELINE,
    CANDIDATE,
    ABMeta,
    ArmMeta,
    LookMeta,
    write_ab_json,
)
from dhakacart_bench.runfolder.layout import new_run_dir
from dhakacart_bench.runfolder.meta import RunMeta, UsersMeta
from dhakacart_bench.runfolder.writer import write_measurements, write_run_json
from dhakacart_bench.target.process import ManagedStore

if TYPE_CHECKING:
    from dhakacart_bench.measure.config import ProgressCallback, RunConfig
    from dhakacart_bench.runfolder.windows import WindowData
    from dhakacart_bench.scenario.model import Scenario

#: ``looker(t_s, upto_s, candidate_windows, baseline_windows)`` -> PASS / FAIL / INVALID
#: when the gate has decided, None to keep going. ``upto_s``: the last second (from the
#: run's start) in both lists.
Looker = Callable[[float, int, Sequence["WindowData"], Sequence["WindowData"]], "str | None"]


@dataclass(frozen=True)
class ABConfig:
    """What an A/B run adds to a :class:`~dhakacart_bench.measure.config.RunConfig`."""

    candidate_url: str | None = None  # None: a bundled store
    baseline_url: str | None = None  # None: a bundled store
    candidate_faults: dict[str, Any] | None = None  # the candidate store's fault knobs
    candidate_store_workers: int | None = None
    max_duration_s: float | None = None  # None: the scenario's length
    min_s: float = 10.0
    every_s: float = 5.0
    seed: int | None = None
    #: each user closes its connection after every N requests (0: never): arms.with_arms
    reconnect_every: int = 0
    plan: dict[str, float] = field(default_factory=dict)  # recorded in ab.json
    gate: dict[str, Any] = field(default_factory=dict)  # margin, endpoints, ... for ab.json


@dataclass(frozen=True)
class ABResult:
    run_dir: Path
    meta: ABMeta
    arms: dict[str, RunMeta]


#: PYTHONHASHSEED's range (0 turns the randomisation off)
_HASH_SEEDS = 2**32


def shared_hash_seed(
    environ: Mapping[str, str] = os.environ, rng: random.Random | None = None
) -> int:
    """The PYTHONHASHSEED both bundled stores start with: the environment's when it sets
    one, else a fresh one for this run. One seed for both because each process's seed
    moves its latency by a few per cent for its whole life — a difference between
    two identical stores that no resampling of a run's seconds sees; a fresh seed per
    run keeps runs independent (docs/gate.md, "The spread between instances")."""
    value = environ.get("PYTHONHASHSEED", "").strip()
    if value.isdigit() and int(value) < _HASH_SEEDS:
        return int(value)
    return (rng or random.SystemRandom()).randrange(_HASH_SEEDS)


def _start_stores(
    scenario: Scenario, config: RunConfig, ab: ABConfig, stack: ExitStack
) -> dict[str, Any]:
    """The bundled stores of the arms without a URL, started side by side."""
    wanted = {
        arm: url
        for arm, url in ((CANDIDATE, ab.candidate_url), (BASELINE, ab.baseline_url))
        if url is None
    }
    if not wanted:
        return {}
    if config.database_url:
        raise UsageError("two bundled arms need fresh databases each: leave out --database-url")
    base = dataclasses.replace(store_settings(scenario, config), database_url=None)
    if len(wanted) == len(ARMS):
        base = dataclasses.replace(base, hash_seed=shared_hash_seed())
    stores = {}
    for arm in wanted:
        settings = base
        if arm == CANDIDATE:
            faults = {**(base.faults or {}), **(ab.candidate_faults or {})}
            settings = dataclasses.replace(
                base,
                faults=faults or None,
                workers=ab.candidate_store_workers or base.workers,
            )
        stores[arm] = ManagedStore(settings)
        stack.callback(stores[arm].stop)
    gevent.joinall([gevent.spawn(store.start) for store in stores.values()], raise_error=True)
    return stores


def run_ab(
    config: RunConfig, ab: ABConfig, *, looker: Looker, progress: ProgressCallback | None = None
) -> ABResult:
    """Run the A/B comparison end to end; see the module docstring.

    TargetUnreachable names the arm that did not answer (nothing is written).
    """
    scenario = sized_scenario(config)
    if config.workers == AUTO_WORKERS:  # an A/B run is one process by design
        config = dataclasses.replace(config, workers=0)
    if config.workers or config.expect_workers:
        raise UsageError("an A/B run drives both arms from one process: leave out --workers")
    with ExitStack() as stack:
        stores = _start_stores(scenario, config, ab, stack)
        urls = {
            CANDIDATE: ab.candidate_url or stores[CANDIDATE].url,
            BASELINE: ab.baseline_url or stores[BASELINE].url,
        }
        for arm, url in urls.items():
            try:
                probe_target(url)
            except TargetUnreachable as exc:
                raise TargetUnreachable(f"the {arm} arm: {exc}") from exc
        # the looks run in a child process: their CPU must not stall the event loop
        remote = stack.enter_context(LookerProcess(looker))
        return _measure_ab(scenario, config, ab, urls, stores, remote, progress)
    raise AssertionError("unreachable")  # pragma: no cover  (ExitStack never swallows)


def _measure_ab(
    scenario: Scenario,
    config: RunConfig,
    ab: ABConfig,
    urls: dict[str, str],
    stores: dict[str, Any],
    looker: Looker,
    progress: ProgressCallback | None,
) -> ABResult:
    load = scenario.load
    max_s = min(ab.max_duration_s or load.duration_s, load.duration_s)
    assigner = ArmAssigner(urls, seed=ab.seed)
    engine = LocalEngine(
        scenario,
        urls[CANDIDATE],
        config,
        wrap=lambda c: with_arms(c, assigner, reconnect_every=ab.reconnect_every),
        arrival_lanes=ARMS,  # open model: each arm is offered half the arrivals
        lane_of=arm_of,
    )
    runner = engine.runner
    stop_reason: list[str] = []
    decided: list[str] = []
    looks: list[LookMeta] = []

    def request_stop(reason: str) -> None:
        if not stop_reason:
            stop_reason.append(reason)

    try:
        with _signals_stop(request_stop):
            if stop_reason:
                raise Interrupted(f"{stop_reason[0]} before the load started; nothing measured")
            run_start = time.time()
            first = math.floor(run_start)
            started_at = datetime.fromtimestamp(run_start, UTC)
            run_dir = new_run_dir(config.reports_dir, scenario.name, started_at)
            recorders = {arm: Recorder(run_start=run_start) for arm in ARMS}
            routed = ArmRecorders(recorders, assigner)
            watch, target_source = watch_arms(
                urls,
                store_pids={arm: getattr(store, "pid", None) for arm, store in stores.items()},
                target_pids=config.target_pids,
            )
            host_monitor = HostMonitor(**watch)
            next_look = [ab.min_s]

            def look(now: float) -> None:
                lists = {arm: recorders[arm].closed_windows() for arm in ARMS}
                last = min((w[-1].epoch_second for w in lists.values() if w), default=first - 1)
                upto_s = last - first
                chosen = {a: [w for w in ws if w.epoch_second <= last] for a, ws in lists.items()}
                t_s = now - run_start
                try:
                    decision = looker(t_s, upto_s, chosen[CANDIDATE], chosen[BASELINE])
                except LookFailed as exc:  # stop the load; what was measured is written
                    request_stop(str(exc))
                    return
                looks.append(LookMeta(round(t_s, 3), upto_s, decision))
                if decision is not None:
                    decided.append(decision)

            def tick() -> None:
                while True:
                    gevent.sleep(config.tick_s)
                    now = time.time()
                    for arm, recorder in recorders.items():
                        recorder.set_users(assigner.active[arm], now)
                    engine.tick(now)
                    host_monitor.sample()
                    for recorder in recorders.values():
                        recorder.close_windows(now)
                    elapsed = now - run_start
                    if not decided and elapsed >= next_look[0] and elapsed < max_s:
                        next_look[0] += ab.every_s
                        look(now)
                    if progress is not None:
                        progress(
                            Progress(
                                elapsed_s=elapsed,
                                planned_s=max_s,
                                users=runner.user_count,
                                live=recorders[CANDIDATE].live(now),
                            )
                        )

            engine.begin(cast(Recorder, routed), run_start, run_dir)
            ticker = gevent.spawn(tick)
            try:
                runner.start_shape()
                while not stop_reason and not decided:
                    shape = runner.shape_greenlet
                    if shape is None or shape.dead or time.time() - run_start >= max_s:
                        break
                    gevent.sleep(0.1)
                engine.end()
            finally:
                ticker.kill(block=True)
    finally:
        engine.close()
    run_end = time.time()
    sections = engine.sections()
    machine = host_monitor.assess(target_source=target_source, cores=config.busy_cores)
    reason: str | None
    if decided:
        reason = f"the A/B gate decided {decided[0]} after {looks[-1].t_s:.0f} s"
    else:
        reason = stop_reason[0] if stop_reason else None
    arms: dict[str, RunMeta] = {}
    for arm in ARMS:
        measurements = recorders[arm].finish(run_end)
        arm_dir = run_dir / arm
        arm_dir.mkdir(parents=True, exist_ok=True)
        write_measurements(arm_dir, measurements)
        meta = RunMeta(
            run_id=f"{run_dir.name}-{arm}",
            scenario_name=scenario.name,
            scenario=scenario,
            scenario_path=str(scenario.path),
            host=urls[arm],
            target="bundled" if arm in stores else "external",
            workload_model=load.model,
            started_at=started_at.isoformat(),
            ended_at=datetime.fromtimestamp(run_end, UTC).isoformat(),
            duration_s=round(run_end - run_start, 3),
            status="interrupted" if stop_reason else "completed",
            status_reason=reason,
            versions=_versions(),
            users=UsersMeta(
                peak=max(measurements.users_by_second.values(), default=0),
                requested_peak=load.peak_users,
                reference_peak=load.reference_users,
            ),
            generator=sections.generator,
            arrivals=None if engine.gate is None else engine.gate.stats(arm),
            machine=machine,
            invariants=store_invariants(stores.get(arm)),
            errors_overflow=measurements.errors_overflow,
            outcomes=recorders[arm].outcomes.section(run_start),
        )
        write_run_json(arm_dir, meta)
        arms[arm] = meta
    overrides: dict[str, Any] = {}
    if ab.candidate_faults:
        overrides["faults"] = ab.candidate_faults
    if ab.candidate_store_workers:
        overrides["store_workers"] = ab.candidate_store_workers
    ab_meta = ABMeta(
        run_id=run_dir.name,
        scenario_name=scenario.name,
        started_at=started_at.isoformat(),
        duration_s=round(run_end - run_start, 3),
        arms={
            arm: ArmMeta(
                url=urls[arm],
                folder=arm,
                target="bundled" if arm in stores else "external",
                overrides=overrides if arm == CANDIDATE and arm in stores else {},
                users=assigner.assigned[arm],
                hash_seed=stores[arm].settings.hash_seed if arm in stores else None,
            )
            for arm in ARMS
        },
        plan={**ab.plan, "min_s": ab.min_s, "every_s": ab.every_s, "max_s": max_s},
        margin_pct=float(ab.gate.get("margin_pct", scenario.gate.p95_regression_pct)),
        error_margin_pct=float(ab.gate.get("error_margin_pct", 1.0)),
        endpoints=tuple(ab.gate.get("endpoints") or scenario.gate.endpoints),
        looks=tuple(looks),
        stopped_at_s=looks[-1].t_s if decided else None,
        stop_reason=reason,
        seed=int(ab.gate.get("seed", 0)),
    )
    write_ab_json(run_dir, ab_meta)
    return ABResult(run_dir=run_dir, meta=ab_meta, arms=arms)
