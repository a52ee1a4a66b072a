"""The typed contents of a capacity folder's ``capacity.json`` (``bench capacity``).

A capacity folder holds one run folder per load level the search tried (``levels/``)
and ``capacity.json``: the levels as judged, the sustainable load with its bracket, the
breaking load and why it broke, the bottleneck endpoint, and the figures a plan needs
(requests per shopper, generator CPU per request). Decoded like ``run.json``
(:func:`~dhakacart_bench.runfolder.meta.decode`: wrong types raise RunFolderError
naming the key; unknown keys are ignored; missing keys take their defaults). The
format, key by key, is in docs/run-folder.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.runfolder.layout import atomic_write_json
from dhakacart_bench.runfolder.meta import decode, encode

CAPACITY_JSON = "capacity.json"
CAPACITY_FORMAT = "dhakacart-bench/capacity"
CAPACITY_FORMAT_VERSION = 1
CAPACITY_REPORT = "capacity.html"
LEVELS_DIR = "levels"


@dataclass(frozen=True)
class LevelEndpoint:
    """One endpoint at one level, after the warm-up: exact merged percentiles."""

    requests: int = 0
    failures: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class CapacityLevel:
    """One level the search held: what it offered, what came back, and the judgement."""

    index: int
    rate: float  # arrivals (iterations) per second offered
    purpose: str = "step"  # "step" | "bisect" | "confirm"
    run_dir: str = ""  # the level's run folder, relative to the capacity folder
    pool: int = 0  # open-model users the level had
    seconds: float = 0.0  # seconds judged (after the warm-up)
    warmup_s: float = 0.0
    requests: int = 0
    failures: int = 0
    offered_rps: float = 0.0  # rate x requests per arrival
    completed_rps: float = 0.0
    error_rate: float = 0.0
    mean_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    endpoints: dict[str, LevelEndpoint] = field(default_factory=dict)
    arrivals_planned: int = 0
    arrivals_late: int = 0  # waited more than the late threshold for a free user
    arrivals_dropped: int = 0
    lag_ms_p99: float = 0.0
    generator_cpu_pct: float = 0.0
    generator_cpu_ms_per_request: float | None = None
    generator_saturated: bool = False
    steady: bool = True
    held: bool = False
    broken: tuple[str, ...] = ()  # why it did not hold, in words
    #: the kind of the first break: "slo" | "errors" | "pool" | "unsteady" | "generator"
    break_kind: str | None = None
    #: the store's own view of this level (bundled store: its /metrics), per endpoint
    store_view: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class CapacityMeta:
    """capacity.json: the search and its answer."""

    scenario_name: str
    started_at: str
    host: str
    target: str  # "bundled" | "external"
    #: the target ran on the machine of the load generator (bundled store, local --host)
    shares_machine: bool
    status: str  # "found" | "not_held" | "budget" | "generator" | "errors" | "interrupted"
    stop_reason: str | None = None
    format: str = CAPACITY_FORMAT
    format_version: int = CAPACITY_FORMAT_VERSION
    store: dict[str, Any] | None = None  # bundled: workers, threads, worker_class, database
    arrival: str = "poisson"
    generator_processes: int = 1
    budget_s: float = 0.0
    resolution: float = 0.05
    elapsed_s: float = 0.0
    sustainable_rate: float | None = None  # arrivals/s
    sustainable_rps: float | None = None
    #: where the limit lies: at least the good level's lowest repeat, below the bad one
    sustainable_rps_interval: tuple[float, float] | None = None
    breaking_rate: float | None = None
    breaking_rps: float | None = None
    breaking_reason: str | None = None
    bottleneck_endpoint: str | None = None
    requests_per_arrival: float | None = None
    #: requests per second one shopper of the scenario sends (Little's law, steady state)
    requests_per_shopper: float | None = None
    think_s: float | None = None  # the scenario's mean wait between tasks
    shoppers_per_instance: int | None = None
    #: the shoppers the scenario is written for (its ``[load] reference_users``)
    reference_users: int | None = None
    generator_cpu_ms_per_request: float | None = None
    headline: str = ""
    levels: tuple[CapacityLevel, ...] = ()


def write_capacity_json(folder: Path, meta: CapacityMeta) -> Path:
    """Write ``folder/capacity.json`` atomically; return its path."""
    path = Path(folder) / CAPACITY_JSON
    atomic_write_json(path, encode(meta))
    return path


def load_capacity(path: Path | str) -> CapacityMeta:
    """Read a capacity folder (or its capacity.json); RunFolderError if it is not one."""
    path = Path(path)
    file = path / CAPACITY_JSON if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{file}: no capacity.json (made by `bench capacity`)") from None
    except ValueError as exc:
        raise RunFolderError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != CAPACITY_FORMAT:
        raise RunFolderError(f"{file}: not a dhakacart-bench capacity result")
    version = data.get("format_version")
    if not isinstance(version, int) or version > CAPACITY_FORMAT_VERSION:
        raise RunFolderError(
            f"{file}: format_version {version!r} is not one this dhakacart-bench reads"
        )
    return decode(data, CapacityMeta, where=str(file))


def is_capacity_folder(path: Path | str) -> bool:
    return (Path(path) / CAPACITY_JSON).is_file()
