"""Generator self-check: did the load generator keep up, or did it measure itself?

A Locust process is one gevent loop on one core. When it runs out of CPU, requests wait
in the generator before they are sent and responses wait before they are timed: the
latencies then describe the generator, not the target. Two signals show it, sampled
once a second during the run: the process's CPU use (100% = one core), from psutil; and
the event-loop lag (how late a greenlet that asks to sleep 50 ms wakes up). The same
sample keeps the process's peak resident memory (``peak_rss_mib``).
:func:`assess` turns them into run.json's ``generator`` section. :class:`HostMonitor` and
:func:`assess_host` are the noisy-neighbour check: the CPU other processes used.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dhakacart_bench.measure.proctree import TreeTimes, descendants
from dhakacart_bench.runfolder.meta import GeneratorMeta, MachineMeta

#: A sample above either threshold counts as a saturated second.
DEFAULT_CPU_THRESHOLD_PCT = 90.0
DEFAULT_LAG_THRESHOLD_MS = 100.0
#: The run is flagged when at least this fraction of its seconds were saturated,
#: and at least DEFAULT_MIN_SATURATED_S of them (one hiccup does not void a short run).
DEFAULT_SATURATED_FRACTION = 0.10
DEFAULT_MIN_SATURATED_S = 3
#: The first seconds (imports, spawning) are not judged.
DEFAULT_WARMUP_S = 3
LAG_PROBE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class HealthThresholds:
    cpu_pct: float = DEFAULT_CPU_THRESHOLD_PCT
    lag_ms: float = DEFAULT_LAG_THRESHOLD_MS
    saturated_fraction: float = DEFAULT_SATURATED_FRACTION
    min_saturated_s: int = DEFAULT_MIN_SATURATED_S
    warmup_s: int = DEFAULT_WARMUP_S


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def assess(
    samples: Sequence[tuple[float, float]],
    *,
    processes: int = 1,
    cpu_count: int | None = None,
    thresholds: HealthThresholds = HealthThresholds(),
    peak_rss_mib: float | None = None,
) -> GeneratorMeta:
    """Judge per-second ``(cpu_pct, lag_ms)`` samples of the busiest generator process."""
    judged = list(samples[thresholds.warmup_s :]) or list(samples)
    cpus = [c for c, _ in judged]
    lags = [lag for _, lag in judged]
    hot_cpu = sum(1 for c in cpus if c >= thresholds.cpu_pct)
    hot_lag = sum(1 for lag in lags if lag >= thresholds.lag_ms)
    saturated_seconds = sum(
        1 for c, lag in judged if c >= thresholds.cpu_pct or lag >= thresholds.lag_ms
    )
    observed = len(judged)
    saturated = (
        observed > 0
        and saturated_seconds >= thresholds.min_saturated_s
        and saturated_seconds / observed >= thresholds.saturated_fraction
    )
    reason = None
    if saturated:
        parts = []
        if hot_cpu:
            parts.append(f"CPU at or above {thresholds.cpu_pct:.0f}% for {hot_cpu} s")
        if hot_lag:
            parts.append(f"event-loop lag at or above {thresholds.lag_ms:.0f} ms for {hot_lag} s")
        reason = (
            f"load generator saturated: {' and '.join(parts)} of {observed} s observed "
            f"({saturated_seconds / observed:.0%}); its latencies measure the generator, "
            "not the target — add workers (--workers) or lower the load"
        )
    return GeneratorMeta(
        processes=processes,
        cpu_count=cpu_count,
        cpu_pct_p50=_percentile(cpus, 50),
        cpu_pct_max=round(max(cpus), 2) if cpus else 0.0,
        lag_ms_p99=_percentile(lags, 99),
        lag_ms_max=round(max(lags), 2) if lags else 0.0,
        saturated_seconds=saturated_seconds,
        observed_seconds=observed,
        saturated=saturated,
        reason=reason,
        thresholds={
            "cpu_pct": thresholds.cpu_pct,
            "lag_ms": thresholds.lag_ms,
            "saturated_fraction": thresholds.saturated_fraction,
            "min_saturated_s": thresholds.min_saturated_s,
        },
        peak_rss_mib=None if peak_rss_mib is None else round(peak_rss_mib, 1),
    )


def per_user(generator: GeneratorMeta, peak_users: int) -> GeneratorMeta:
    """``generator`` with its peak memory per user (KiB) at ``peak_users``."""
    if generator.peak_rss_mib is None or peak_users < 1:
        return generator
    kib = generator.peak_rss_mib * 1024.0 / peak_users
    return dataclasses.replace(generator, peak_rss_kib_per_user=round(kib, 2))


class GeneratorMonitor:
    """Samples this process's CPU and event-loop lag; runs inside a gevent loop."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._process.cpu_percent(None)  # prime: the first call always returns 0.0
        self._max_lag_s = 0.0
        self._greenlet: Any = None
        self.samples: list[tuple[float, float]] = []
        self.peak_rss_mib = self.rss_mib()

    def rss_mib(self) -> float:
        """This process's resident memory now, in MiB."""
        return float(self._process.memory_info().rss) / (1 << 20)

    def _probe(self) -> None:
        import gevent

        while True:
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE_INTERVAL_S)
            late = time.perf_counter() - before - LAG_PROBE_INTERVAL_S
            self._max_lag_s = max(self._max_lag_s, late)

    def start(self) -> None:
        import gevent

        self._greenlet = gevent.spawn(self._probe)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    def sample(self) -> tuple[float, float]:
        """CPU % since the last sample and the worst lag (ms) since the last sample."""
        cpu = float(self._process.cpu_percent(None))
        self.peak_rss_mib = max(self.peak_rss_mib, self.rss_mib())
        lag_ms = round(self._max_lag_s * 1000.0, 2)
        self._max_lag_s = 0.0
        self.samples.append((cpu, lag_ms))
        return cpu, lag_ms


#: Other processes using at least this many cores in a second make it a busy second.
DEFAULT_FOREIGN_CORES = 0.5
#: The host is flagged busy when this fraction of the run's seconds were busy (and >= 3).
DEFAULT_BUSY_FRACTION = 0.20
#: How often HostMonitor looks for new processes in our tree. Finding children means
#: reading every process of the machine (~12 ms here); the CPU times of the processes
#: already known cost ~0.05 ms each, so this is the bulk of the per-second cost.
DEFAULT_RESCAN_S = 5.0
#: For this many seconds after start the tree is looked up every sample: the store's
#: and the local workers' processes are still booting then.
DEFAULT_RESCAN_EVERY_SAMPLE_S = 10.0


class HostMonitor:
    """How much CPU *other* processes used while we ran: the noisy-neighbour check.

    A shared CI runner or laptop shifts whole runs' latencies; statistics within
    one run cannot see it. Each second this compares the machine's busy CPU time
    with that of our own process tree (this process, the bundled store, local
    workers): the difference is somebody else's. Run it at the root of the tree
    only (the runner's process), never in a worker.
    """

    def __init__(
        self,
        *,
        target_pids: Sequence[int] = (),
        discover: Callable[[], Sequence[int]] | None = None,
        rescan_s: float = DEFAULT_RESCAN_S,
        clock: Callable[[], float] = time.monotonic,
        machine_cpu: Callable[[], float] | None = None,
        own_tree: Callable[[], dict[int, float]] | None = None,
        target_tree: Callable[[Sequence[int]], dict[int, float]] | None = None,
    ) -> None:
        """``clock``, ``machine_cpu`` (busy CPU-seconds of the whole machine so far),
        ``own_tree`` and ``target_tree`` (CPU-seconds per pid of our tree, of the trees
        under the given roots) default to the real ones (psutil); tests inject them.
        Our own tree's members are looked up again every ``rescan_s`` seconds."""
        import psutil

        self._psutil = psutil
        self._root = psutil.Process()
        self._clock = clock
        self._machine_cpu = machine_cpu or self._machine_busy
        self._own_tree = own_tree or self._own_tree_times
        # the target's trees: members kept between looks (measure/proctree.py)
        self._target_trees = TreeTimes()
        self._target_tree = target_tree or self._target_trees
        self._looked_since_lost = False
        # the target's process trees (measure/targetproc.py): not foreign, counted apart
        self._named_targets = tuple(target_pids)
        self._discover = discover
        self._found: tuple[int, ...] = tuple(discover()) if discover is not None else ()
        self._samples_taken = 0
        self._rescan_s = rescan_s
        self._tree: list[Any] = [self._root]
        self._scanned_at: float | None = None
        self._started_at: float | None = None
        self.scans = 0
        self._last_busy = self._busy()
        self._last_target = self._target_times()
        self._last_tree = self._tree_times()
        self._last_time = self._clock()
        self.samples: list[float] = []  # foreign cores, one per sample
        self.target_samples: list[float] = []  # the target's cores, one per sample
        self.target_pids_seen: set[int] = set(self._named_targets) | set(self._found)

    def _target_times(self) -> dict[int, float]:
        roots = (*self._named_targets, *self._found)
        return self._target_tree(roots) if roots else {}

    def _busy(self) -> float:
        return self._machine_cpu()

    def _tree_times(self) -> dict[int, float]:
        return self._own_tree()

    def _machine_busy(self) -> float:
        times = self._psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        return float(sum(times) - idle)

    def _processes(self) -> list[Any]:
        """Our process tree, looked up again every ``rescan_s`` seconds (a process born
        in between counts from the next look, with all the CPU it used until then)."""
        now = self._clock()
        if self._started_at is None:
            self._started_at = now
        booting = now - self._started_at < DEFAULT_RESCAN_EVERY_SAMPLE_S
        if self._scanned_at is None or booting or now - self._scanned_at >= self._rescan_s:
            # one read of the process table for our tree and the target's
            roots = (*self._named_targets, *self._found)
            trees = descendants((self._root.pid, *roots))
            self._tree = trees.get(self._root.pid, [self._root])
            self._target_trees.fill(roots, trees)
            self._scanned_at = now
            self.scans += 1
        return self._tree

    def _own_tree_times(self) -> dict[int, float]:
        out = {}
        for proc in self._processes():
            try:
                times = proc.cpu_times()
            except self._psutil.Error:
                continue
            out[proc.pid] = times.user + times.system
        return out

    def assess(self, *, target_source: str | None, cores: float) -> MachineMeta:
        """The ``machine`` section of run.json from every sample taken (:func:`assess_host`)."""
        return assess_host(
            self.samples,
            target_samples=self.target_samples,
            target_pids=sorted(self.target_pids_seen),
            target_source=target_source,
            cores=cores,
        )

    def sample(self) -> float:
        """Cores used by other processes since the last sample (not ours, not the
        target's)."""
        from dhakacart_bench.measure.targetproc import REDISCOVER_EVERY

        self._samples_taken += 1
        due = self._samples_taken % REDISCOVER_EVERY == 0
        # a target that exited (a deploy replaced it) is looked for again at once, once
        lost = self._target_trees.lost and not self._looked_since_lost
        self._looked_since_lost = self._target_trees.lost
        if self._discover is not None and (due or lost):
            self._found = tuple(self._discover())
            self.target_pids_seen.update(self._found)
        now = self._clock()
        busy, target = self._busy(), self._target_times()
        tree = {pid: cpu for pid, cpu in self._tree_times().items() if pid not in target}
        ours = sum(cpu - self._last_tree.get(pid, 0.0) for pid, cpu in tree.items())
        theirs = sum(cpu - self._last_target.get(pid, 0.0) for pid, cpu in target.items())
        elapsed = max(now - self._last_time, 1e-3)
        spent = max(ours, 0.0) + max(theirs, 0.0)
        foreign = max(0.0, (busy - self._last_busy) - spent) / elapsed
        self._last_busy, self._last_tree, self._last_time = busy, tree, now
        self._last_target = target
        self.samples.append(round(foreign, 3))
        self.target_samples.append(round(max(theirs, 0.0) / elapsed, 3))
        return foreign


def assess_host(
    samples: Sequence[float],
    *,
    target_samples: Sequence[float] = (),
    target_pids: Sequence[int] = (),
    target_source: str | None = None,
    cores: float = DEFAULT_FOREIGN_CORES,
    fraction: float = DEFAULT_BUSY_FRACTION,
    min_seconds: int = DEFAULT_MIN_SATURATED_S,
    warmup_s: int = DEFAULT_WARMUP_S,
) -> MachineMeta:
    """The ``machine`` section of run.json: was the machine shared with something busy?"""
    judged = list(samples[warmup_s:]) or list(samples)
    busy_seconds = sum(1 for s in judged if s >= cores)
    observed = len(judged)
    busy = observed > 0 and busy_seconds >= min_seconds and busy_seconds / observed >= fraction
    mean = sum(judged) / observed if observed else 0.0
    reason = None
    if busy:
        reason = (
            f"other processes on this machine used {mean:.1f} CPU cores on average"
            f" (at least {cores:g} in {busy_seconds} of {observed} s): the run shared the"
            " machine, so its latencies are not comparable with a quiet run — re-run"
        )
    return MachineMeta(
        foreign_cores_mean=round(mean, 3),
        foreign_cores_p50=_percentile(judged, 50),
        foreign_cores_max=round(max(judged), 3) if judged else 0.0,
        busy_seconds=busy_seconds,
        observed_seconds=observed,
        busy=busy,
        reason=reason,
        thresholds={"cores": cores, "fraction": fraction, "min_seconds": min_seconds},
        **_target_fields(target_samples[warmup_s:] or target_samples, target_pids, target_source),
    )


def _target_fields(
    judged: Sequence[float], pids: Sequence[int], source: str | None
) -> dict[str, Any]:
    """The target's own CPU (cores) as run.json's ``machine.target_*`` fields."""
    if source is None:
        return {}
    return {
        "target_cores_mean": round(sum(judged) / len(judged), 3) if judged else 0.0,
        "target_cores_max": round(max(judged), 3) if judged else 0.0,
        "target_pids": tuple(sorted(pids)),
        "target_source": source,
    }
