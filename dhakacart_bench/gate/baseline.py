"""Baselines: what a good run looked like, kept small enough to commit.

A baseline is a JSON file written by ``bench baseline save RUN_DIR [PATH]`` (default
``reports/baseline.json``). It holds, for every endpoint of the run and for all endpoints
together (``"*"``), the run's per-block HDR histograms (a block is one or more
consecutive one-second windows; long runs are merged into at most ``MAX_BLOCKS`` blocks
so the file stays small) and the whole-run summary row, plus what the gate needs to
refuse a baseline that does not fit the run:

- ``format`` / ``format_version`` (an unknown version is refused);
- the scenario's name and a hash of its users, load and SLO definition (a changed
  scenario is refused: its latencies are not comparable);
- an environment fingerprint (Python, Locust, platform, CPU count, target kind and
  host): a different environment is only warned about.

:func:`load_baseline` also accepts a run folder (handy locally).
:func:`~dhakacart_bench.analysis.blocks.run_blocks` cuts
a run's ``windows.jsonl`` into blocks the same way (:mod:`dhakacart_bench.stats.blocks`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench import __version__
from dhakacart_bench.analysis.blocks import run_blocks
from dhakacart_bench.analysis.verdict import evaluate_verdict
from dhakacart_bench.errors import BaselineError, RunFolderError
from dhakacart_bench.runfolder.layout import atomic_write_text
from dhakacart_bench.runfolder.meta import RunMeta, encode
from dhakacart_bench.runfolder.reader import load_run, read_json
from dhakacart_bench.stats.blocks import (
    MAX_BLOCKS,
    SparseBlocks,
    sparse_counts,
)
from dhakacart_bench.stats.hdr import (
    add_histogram,
    decode_histogram,
    encode_histogram,
    new_histogram,
    release_histogram,
)

if TYPE_CHECKING:
    import numpy as np
    from hdrh.histogram import HdrHistogram

    from dhakacart_bench.runfolder.reader import Run


FORMAT = "dhakacart-bench/baseline"
FORMAT_VERSION = 1
DEFAULT_BASELINE_PATH = Path("reports/baseline.json")
ENVIRONMENT_KEYS = ("python", "locust", "platform", "cpu_count", "target", "host")


def scenario_identity(meta: RunMeta) -> tuple[str, str]:
    """(name, hash) of run.json's scenario.

    The hash covers what makes latencies comparable: the user classes and weights,
    the (sized) load stages and model, and the SLOs. The description, file paths,
    host and the ``[gate]`` table are left out (a changed margin keeps the baseline).
    """
    scenario = meta.scenario.to_dict()
    name = meta.scenario_name or meta.scenario.name
    identity = {key: scenario[key] for key in ("users", "load", "slos", "scale", "time_scale")}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return name, "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def environment_of(meta: RunMeta) -> dict[str, Any]:
    """The environment fingerprint of a run (from its run.json)."""
    host = meta.host
    if meta.target == "bundled":
        host = "bundled store"  # a fresh store on a random port every run
    return {
        "python": meta.versions.get("python"),
        "locust": meta.versions.get("locust"),
        "platform": meta.versions.get("platform"),
        "cpu_count": meta.generator.cpu_count,
        "target": meta.target,
        "host": host,
    }


def environment_differences(baseline: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    """Human lines for every fingerprint key that differs, e.g. ``python 3.11.7 → 3.12.1``."""
    out = []
    for key in ENVIRONMENT_KEYS:
        a, b = baseline.get(key), run.get(key)
        if a != b:
            out.append(f"{key} {a if a is not None else '?'} → {b if b is not None else '?'}")
    return out


@dataclass(frozen=True)
class EndpointBaseline:
    """One endpoint of a baseline: its summary row and encoded block histograms."""

    name: str
    summary: dict[str, Any]
    blocks: tuple[str, ...]
    run_p95_ms: tuple[float, ...] = ()
    """The p95 of each baseline run (several runs: their spread is the between-run noise)."""

    @property
    def count(self) -> int:
        """Requests the baseline measured for this endpoint."""
        return int(self.summary.get("count") or 0)

    def sparse_blocks(self, block_s: int) -> SparseBlocks:
        """The blocks decoded into sparse counts (see :class:`SparseBlocks`)."""
        parts = []
        counts_len = 0
        for encoded in self.blocks:
            hist = decode_histogram(encoded)
            counts_len = hist.counts_len
            parts.append(sparse_counts(hist))
            release_histogram(hist)
        return SparseBlocks(block_s, counts_len, tuple(parts))

    def histogram(self) -> HdrHistogram:
        """The whole-run histogram of the endpoint: all blocks merged exactly."""
        total = new_histogram()
        for encoded in self.blocks:
            hist = decode_histogram(encoded)
            add_histogram(total, hist)
            release_histogram(hist)
        return total


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline (from a baseline file or straight from a run folder)."""

    source: Path
    run_id: str
    created_at: str
    toolkit_version: str
    scenario_name: str
    scenario_hash: str
    environment: dict[str, Any]
    block_s: int
    endpoints: dict[str, EndpointBaseline] = field(default_factory=dict)
    run_ids: tuple[str, ...] = ()
    """Every run the baseline pools (one, or several for a measured between-run noise)."""

    def to_dict(self) -> dict[str, Any]:
        """The baseline file's JSON document."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "toolkit_version": self.toolkit_version,
            "created_at": self.created_at,
            "run_id": self.run_id,
            "runs": list(self.run_ids or (self.run_id,)),
            "scenario": {"name": self.scenario_name, "hash": self.scenario_hash},
            "environment": self.environment,
            "block_s": self.block_s,
            "endpoints": {
                name: {
                    "summary": ep.summary,
                    "run_p95_ms": list(ep.run_p95_ms),
                    "blocks": list(ep.blocks),
                }
                for name, ep in sorted(self.endpoints.items())
            },
        }

    def check_matches(self, run: Run) -> list[str]:
        """Refuse (BaselineError) a baseline of another scenario; return environment warnings."""
        name, digest = scenario_identity(run.meta)
        if name != self.scenario_name:
            raise BaselineError(
                f"{self.source}: baseline of scenario {self.scenario_name!r}, but the run is of"
                f" {name!r}; save a baseline of this scenario with `bench baseline save`"
            )
        if digest != self.scenario_hash:
            raise BaselineError(
                f"{self.source}: scenario {name!r} has changed since the baseline was saved"
                f" (users, load or SLOs: {self.scenario_hash} → {digest}); its latencies are"
                " not comparable — save a new baseline deliberately with `bench baseline save`"
            )
        diffs = environment_differences(self.environment, environment_of(run.meta))
        if not diffs:
            return []
        return ["the environment differs from the baseline's: " + "; ".join(diffs)]


def _rows(run: Run) -> dict[str, dict[str, Any]]:
    return {row.name: encode(row) for row in (*run.summary.endpoints, run.summary.total)}


def baseline_from_run(run: Run, *, max_blocks: int = MAX_BLOCKS) -> Baseline:
    """Build a baseline of every endpoint (and ``"*"``) of ``run``, in memory."""
    return baseline_from_runs([run], max_blocks=max_blocks)


def baseline_from_runs(runs: Sequence[Run], *, max_blocks: int = MAX_BLOCKS) -> Baseline:
    """Build one baseline from several runs of the same scenario, in memory.

    The runs' blocks are pooled, and each run's p95 per endpoint is kept: their
    spread is the between-run noise the gate adds to its interval. BaselineError
    when the runs are of different scenarios (or differently sized ones).
    """
    if not runs:
        raise BaselineError("a baseline needs at least one run")
    name, digest = scenario_identity(runs[0].meta)
    for other in runs[1:]:
        if scenario_identity(other.meta) != (name, digest):
            raise BaselineError(
                f"{other.path}: not a run of the same scenario as {runs[0].path}"
                " (name, users, load or SLOs differ); a baseline pools runs of one scenario"
            )
    per_run = [(_rows(run), run) for run in runs]
    names = sorted({endpoint for rows, _ in per_run for endpoint in rows})
    pooled: dict[str, list[str]] = {e: [] for e in names}
    run_p95: dict[str, list[float]] = {e: [] for e in names}
    block_s = 1
    for rows, run in per_run:
        blocks = run_blocks(run, list(rows), max_blocks=max_blocks)
        block_s = max([block_s, *(b.block_s for b in blocks.values())])
        for endpoint, row in rows.items():
            pooled[endpoint] += [_encode_sparse(part) for part in blocks[endpoint].blocks]
            if row.get("count") and row.get("p95_ms") is not None:
                run_p95[endpoint].append(float(row["p95_ms"]))
    endpoints = {}
    for endpoint in names:
        if len(runs) == 1:
            summary = per_run[0][0][endpoint]
        else:
            found = [rows[endpoint] for rows, _ in per_run if endpoint in rows]
            summary = {
                "name": endpoint,
                "count": sum(int(r.get("count") or 0) for r in found),
                "failures": sum(int(r.get("failures") or 0) for r in found),
                "runs": len(found),
            }
        endpoints[endpoint] = EndpointBaseline(
            endpoint, summary, tuple(pooled[endpoint]), tuple(run_p95[endpoint])
        )
    ids = tuple(run.run_id for run in runs)
    return Baseline(
        source=runs[0].path,
        run_id=ids[0] if len(ids) == 1 else f"{ids[0]} +{len(ids) - 1} runs",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        toolkit_version=__version__,
        scenario_name=name,
        scenario_hash=digest,
        environment=environment_of(runs[0].meta),
        block_s=block_s,
        endpoints=endpoints,
        run_ids=ids,
    )


def _encode_sparse(part: tuple[np.ndarray, np.ndarray]) -> str:
    hist = new_histogram()
    for index, count in zip(part[0].tolist(), part[1].tolist(), strict=True):
        hist.record_value(hist.get_value_from_index(index), count)
    encoded = encode_histogram(hist)
    release_histogram(hist)
    return encoded


def save_baseline(
    run: Run | Sequence[Run], path: Path | str = DEFAULT_BASELINE_PATH, *, force: bool = False
) -> Path:
    """Write ``run`` (or several runs of one scenario, pooled) as a baseline file at
    ``path`` (atomically); return the path.

    Refuses (BaselineError) a run that is not a valid gate input — interrupted,
    load generator saturated, too few requests — unless ``force``.
    """

    runs = list(run) if isinstance(run, Sequence) else [run]
    if not force:
        for one in runs:
            problems = evaluate_verdict(one).validity
            if problems:
                raise BaselineError(
                    f"{one.path}: not a valid baseline run: "
                    + " ".join(problems)
                    + " (use --force to save it anyway)"
                )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = baseline_from_runs(runs).to_dict()
    atomic_write_text(target, json.dumps(document, indent=1, allow_nan=False) + "\n")
    return target


def load_baseline(path: Path | str) -> Baseline:
    """Read a baseline file, or build one from a run folder.

    BaselineError (exit 2) for a missing or invalid file, another format, or a
    format version this dhakacart-bench does not know.
    """
    source = Path(path)
    if source.is_dir():
        try:
            return baseline_from_run(load_run(source))
        except RunFolderError as exc:
            raise BaselineError(f"baseline run folder: {exc}") from None
    doc = read_json(
        source,
        error=BaselineError,
        missing="no such baseline file; save one with `bench baseline save RUN_DIR`",
    )
    return _baseline_from_doc(source, doc)


def _baseline_from_doc(source: Path, doc: Any) -> Baseline:
    def bad(what: str) -> BaselineError:
        return BaselineError(f"{source}: invalid baseline: {what}")

    if not isinstance(doc, dict):
        raise bad("expected a JSON object")
    if doc.get("format") != FORMAT:
        raise BaselineError(
            f"{source}: not a dhakacart-bench baseline (format {doc.get('format')!r},"
            f" expected {FORMAT!r})"
        )
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad(f"format_version {version!r}")
    if version > FORMAT_VERSION:
        raise BaselineError(
            f"{source}: baseline format_version {version} is newer than this dhakacart-bench"
            f" supports ({FORMAT_VERSION}); upgrade dhakacart-bench or save the baseline again"
        )
    scenario = doc.get("scenario")
    if not isinstance(scenario, dict) or not isinstance(scenario.get("name"), str):
        raise bad("scenario.name missing")
    if not isinstance(scenario.get("hash"), str):
        raise bad("scenario.hash missing")
    environment = doc.get("environment")
    if not isinstance(environment, dict):
        raise bad("environment missing")
    block_s = doc.get("block_s")
    if not isinstance(block_s, int) or isinstance(block_s, bool) or block_s < 1:
        raise bad(f"block_s {block_s!r}")
    raw = doc.get("endpoints")
    if not isinstance(raw, dict) or not raw:
        raise bad("no endpoints")
    endpoints = {}
    for name, entry in raw.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("summary"), dict)
            or not isinstance(entry.get("blocks"), list)
            or not all(isinstance(b, str) for b in entry["blocks"])
        ):
            raise bad(f"endpoint {name!r} needs a summary object and a list of blocks")
        run_p95 = entry.get("run_p95_ms", [])
        if not isinstance(run_p95, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in run_p95
        ):
            raise bad(f"endpoint {name!r}: run_p95_ms must be a list of positive numbers")
        for number, encoded in enumerate(entry["blocks"]):
            try:
                release_histogram(decode_histogram(encoded))
            except Exception:  # hdrh raises assorted errors on garbage
                raise bad(f"endpoint {name!r} block {number} is not an HDR histogram") from None
        endpoints[str(name)] = EndpointBaseline(
            str(name),
            dict(entry["summary"]),
            tuple(entry["blocks"]),
            tuple(float(v) for v in run_p95),
        )
    return Baseline(
        source=source,
        run_id=str(doc.get("run_id") or ""),
        created_at=str(doc.get("created_at") or ""),
        toolkit_version=str(doc.get("toolkit_version") or ""),
        scenario_name=scenario["name"],
        scenario_hash=scenario["hash"],
        environment=dict(environment),
        block_s=block_s,
        endpoints=endpoints,
        run_ids=tuple(str(r) for r in doc.get("runs") or [doc.get("run_id") or ""]),
    )
