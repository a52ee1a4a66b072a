"""An A/B run folder: two arms measured at the same time, each a complete run folder.

```
reports/<run-id>/
  ab.json            this module's ABMeta: the arms, the look plan, every look, why it stopped
  candidate/         a complete single-target run folder (run.json, windows.jsonl, ...)
  baseline/          the same for the baseline arm
  report.html        the A/B report; gate.json when the gate ran
```

Both arms' recorders share one ``run_start``, so second ``s`` of ``candidate/`` is the
same wall-clock second as second ``s`` of ``baseline/``. See docs/run-folder.md.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.runfolder.layout import atomic_write_json

AB_JSON = "ab.json"
AB_FORMAT = "dhakacart-bench/ab"
AB_FORMAT_VERSION = 1
CANDIDATE, BASELINE = "candidate", "baseline"
ARMS = (CANDIDATE, BASELINE)


@dataclass(frozen=True)
class ArmMeta:
    """One arm: where it was, how it differed, how many users it had."""

    url: str
    folder: str
    target: str = "external"  # "bundled" | "external"
    overrides: dict[str, Any] = field(default_factory=dict)
    users: int = 0
    hash_seed: int | None = None  # a bundled store's PYTHONHASHSEED (one for both arms)


@dataclass(frozen=True)
class LookMeta:
    """One look of the sequential gate: when, up to which second, what it said."""

    t_s: float
    upto_s: int
    decision: str | None = None  # PASS | FAIL | INVALID | None (keep going)


@dataclass(frozen=True)
class ABMeta:
    run_id: str
    scenario_name: str
    started_at: str
    duration_s: float
    arms: dict[str, ArmMeta]
    plan: dict[str, float]
    margin_pct: float
    error_margin_pct: float
    endpoints: tuple[str, ...]
    looks: tuple[LookMeta, ...] = ()
    stopped_at_s: float | None = None
    stop_reason: str | None = None
    seed: int = 0
    format: str = AB_FORMAT
    format_version: int = AB_FORMAT_VERSION

    def arm_dir(self, run_dir: Path, arm: str) -> Path:
        return Path(run_dir) / self.arms[arm].folder


def is_ab_folder(path: Path | str) -> bool:
    """Whether ``path`` is an A/B run folder (it has ab.json)."""
    return (Path(path) / AB_JSON).is_file()


def write_ab_json(run_dir: Path, meta: ABMeta) -> None:
    atomic_write_json(Path(run_dir) / AB_JSON, dataclasses.asdict(meta))


def read_ab_json(run_dir: Path | str) -> ABMeta:
    """ab.json of ``run_dir``; RunFolderError naming the file when it is unreadable."""
    path = Path(run_dir) / AB_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != AB_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {AB_FORMAT!r}")
        return ABMeta(
            run_id=str(data["run_id"]),
            scenario_name=str(data["scenario_name"]),
            started_at=str(data["started_at"]),
            duration_s=float(data["duration_s"]),
            arms={name: ArmMeta(**arm) for name, arm in data["arms"].items()},
            plan={k: float(v) for k, v in data["plan"].items()},
            margin_pct=float(data["margin_pct"]),
            error_margin_pct=float(data["error_margin_pct"]),
            endpoints=tuple(data["endpoints"]),
            looks=tuple(LookMeta(**look) for look in data.get("looks") or ()),
            stopped_at_s=data.get("stopped_at_s"),
            stop_reason=data.get("stop_reason"),
            seed=int(data.get("seed") or 0),
            format_version=int(data.get("format_version") or AB_FORMAT_VERSION),
        )
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing; not an A/B run folder") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{path}: invalid ({exc})") from None
