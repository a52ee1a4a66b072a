"""The typed contents of a run folder's JSON files: run.json, summary.json, errors.json.

Frozen dataclasses, one per section, so that analysis, gate and report read
``run.meta.generator.saturated`` rather than ``meta.get("generator", {}).get(...)``.
:func:`decode` turns parsed JSON into them with msgspec: every value is checked against
its annotation, and a wrong type raises :class:`~dhakacart_bench.errors.RunFolderError`
naming the file and the key (``run.json: generator.saturated: Expected `bool`, got
`str```). Unknown keys are ignored (a newer writer may add some); a missing key takes
its default, so folders written before a field existed still read.
:func:`encode` is the inverse (plain JSON-able builtins).

The format, key by key, is in docs/run-folder.md. ``sidecars`` stays a mapping of
sidecar name to the section that sidecar wrote: each sidecar owns its own schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.json

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.scenario.model import Scenario

T = TypeVar("T")


# ------------------------------------------------------------------- run.json sections


@dataclass(frozen=True)
class UsersMeta:
    """Users at the peak as measured, as the run asked for, and as the scenario is written."""

    peak: int = 0
    requested_peak: int = 0
    reference_peak: int = 0


@dataclass(frozen=True)
class GeneratorMeta:
    """The load generator's self-check (see :mod:`dhakacart_bench.measure.health`)."""

    processes: int = 1
    cpu_count: int | None = None
    cpu_pct_p50: float = 0.0
    cpu_pct_max: float = 0.0
    lag_ms_p99: float = 0.0
    lag_ms_max: float = 0.0
    saturated_seconds: int = 0
    observed_seconds: int = 0
    saturated: bool = False
    reason: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    #: Distributed runs: each worker's own verdict, by worker id.
    workers: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class MachineMeta:
    """The noisy-neighbour check: how much CPU other processes used while the run ran."""

    foreign_cores_mean: float = 0.0
    foreign_cores_p50: float = 0.0
    foreign_cores_max: float = 0.0
    busy_seconds: int = 0
    observed_seconds: int = 0
    busy: bool = False
    reason: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    #: The target's own CPU when it ran on this machine (not counted as foreign); None
    #: when no target process was known (a remote target). See measure/targetproc.py.
    target_cores_mean: float = 0.0
    target_cores_max: float = 0.0
    target_pids: tuple[int, ...] = ()
    #: how the target's processes were found: "bundled store", "listening on port N",
    #: "--target-pid"; None: not known (remote, or not found)
    target_source: str | None = None


@dataclass(frozen=True)
class ArrivalsMeta:
    """The open model's arrivals: planned against started, and how late they started."""

    planned: int = 0
    started: int = 0
    dropped: int = 0
    late: int = 0
    lag_ms_p50: float = 0.0
    lag_ms_p99: float = 0.0
    lag_ms_max: float = 0.0
    late_threshold_ms: float = 0.0


@dataclass(frozen=True)
class WorkerLoss:
    """A distributed worker that went missing during the run."""

    worker: str
    lost_at_s: int
    how: str
    users_held: int | None = None
    returned_at_s: int | None = None
    restored_after_s: int | None = None


@dataclass(frozen=True)
class WorkersMeta:
    """Distributed runs: the workers expected, those that reported, those lost."""

    expected: int = 0
    reported: tuple[str, ...] = ()
    finals_received: int = 0
    lost: tuple[WorkerLoss, ...] = ()


@dataclass(frozen=True)
class InvariantsMeta:
    """The bundled store's business invariants after the run (no oversold stock, ...)."""

    checked: bool = False
    ok: bool | None = None
    problems: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class OutcomeTally:
    """One named business outcome a locustfile tallied (see
    :mod:`dhakacart_bench.measure.outcomes`): how often, the units it moved, when."""

    name: str
    count: int = 0
    units: int = 0
    first_s: float = 0.0
    last_s: float = 0.0


@dataclass(frozen=True)
class OutcomesMeta:
    """Business outcomes counted on every load-generating process and merged."""

    tallies: tuple[OutcomeTally, ...] = ()
    #: tallies of names beyond the most kept (MAX_OUTCOMES distinct names)
    overflow: int = 0

    def get(self, name: str) -> OutcomeTally | None:
        """The tally called ``name``, or None when it never happened."""
        return next((t for t in self.tallies if t.name == name), None)

    def count(self, name: str) -> int:
        """How often ``name`` happened (0 when never)."""
        found = self.get(name)
        return found.count if found else 0


@dataclass(frozen=True)
class VerdictMeta:
    """The verdict as :func:`~dhakacart_bench.outcome.conclude` recorded it."""

    status: str
    reasons: tuple[str, ...] = ()
    validity: tuple[str, ...] = ()
    #: the load seen as a share of the load the scenario is written for (1.0 = full size)
    scale_fraction: float | None = None
    #: whether the run was at the scenario's full (reference) size
    full_size: bool | None = None
    #: "ready for the sale?" answered yes: PASS, at full size, latencies not understated
    ready: bool | None = None
    #: a closed-model run whose completions stalled: its percentiles understate latency
    latency_understated: bool = False


@dataclass(frozen=True)
class RunMeta:
    """run.json: what ran, against what, how it ended, and the generator's health."""

    run_id: str
    scenario_name: str
    scenario: Scenario
    host: str = ""
    target: str = "external"  # "bundled" | "external"
    workload_model: str = "closed"  # "closed" | "open"
    scenario_path: str = ""
    started_at: str = ""
    ended_at: str = ""
    duration_s: float = 0.0
    status: str = "completed"  # "completed" | "interrupted" | "failed"
    status_reason: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    users: UsersMeta = field(default_factory=UsersMeta)
    generator: GeneratorMeta = field(default_factory=GeneratorMeta)
    machine: MachineMeta = field(default_factory=MachineMeta)
    arrivals: ArrivalsMeta | None = None
    workers: WorkersMeta | None = None
    invariants: InvariantsMeta | None = None
    errors_overflow: int = 0
    #: business outcomes the locustfile tallied; None when it tallied none
    outcomes: OutcomesMeta | None = None
    #: sidecar name → the section that sidecar wrote (its own schema; see docs/reliability.md)
    sidecars: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdict: VerdictMeta | None = None
    exit_code: int | None = None

    def with_verdict(self, verdict: VerdictMeta, exit_code: int) -> RunMeta:
        """A copy with the verdict and the exit code recorded."""
        return replace(self, verdict=verdict, exit_code=exit_code)


# ------------------------------------------------------------------- summary.json


@dataclass(frozen=True)
class EndpointSummary:
    """One row of summary.json: one endpoint, or all of them (``name = "*"``).

    Latencies are exact (HDR) milliseconds; None when the endpoint had no requests.
    """

    name: str
    method: str | None = None
    count: int = 0
    failures: int = 0
    failure_rate: float = 0.0
    rps: float = 0.0
    bytes: int = 0
    min_ms: float | None = None
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None

    def get(self, metric: str) -> float | None:
        """The value of a numeric column by name (``"p95_ms"``, ``"rps"``), else None."""
        value = getattr(self, metric, None) if metric in _SUMMARY_NUMBERS else None
        return None if value is None else float(value)


_SUMMARY_NUMBERS = frozenset(
    f.name for f in fields(EndpointSummary) if f.name not in ("name", "method")
)


@dataclass(frozen=True)
class Summary:
    """summary.json: every endpoint (sorted by name) and the total."""

    duration_s: float = 0.0
    endpoints: tuple[EndpointSummary, ...] = ()
    total: EndpointSummary = field(default_factory=lambda: EndpointSummary(name="*"))

    def row(self, endpoint: str) -> EndpointSummary | None:
        """The row of ``endpoint`` (``"*"``: the total), or None."""
        if endpoint == "*":
            return self.total
        return next((row for row in self.endpoints if row.name == endpoint), None)


# ------------------------------------------------------------------- errors.json


@dataclass(frozen=True)
class ErrorRecord:
    """One deduplicated failure of errors.json, with how often and when it was seen."""

    endpoint: str
    kind: str = "exception"
    status: int | None = None
    message: str = ""
    count: int = 0
    first_seen_s: float = 0.0
    last_seen_s: float = 0.0


# ------------------------------------------------------------------- coding


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Path:
        if isinstance(value, str):
            return Path(value)
        # msgspec turns a TypeError here into a ValidationError naming the key
        raise TypeError(f"Expected a path string, got {type(value).__name__}")
    raise NotImplementedError(f"cannot decode {kind}")


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def decode(data: Any, kind: type[T], *, where: str) -> T:
    """``data`` (parsed JSON) as ``kind``; RunFolderError naming ``where`` and the key."""
    try:
        return msgspec.convert(data, kind, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        text = str(exc)
        message, _, path = text.partition(" - at `$")
        key = path.rstrip("`").lstrip(".")
        raise RunFolderError(f"{where}: {key + ': ' if key else ''}{message}") from None


def encode(value: Any) -> Any:
    """``value`` (a dataclass of this module, or a list of them) as JSON's own shapes:
    dicts, lists, strings, numbers, booleans and null (what the file will hold)."""
    return msgspec.json.decode(msgspec.json.encode(value, enc_hook=_enc_hook))
