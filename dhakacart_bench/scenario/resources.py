"""Where the bundled scenarios and locustfiles live.

In a source checkout (editable install) they are the repository's top-level
``scenarios/`` and ``locustfiles/`` folders; in a wheel, ``pyproject.toml``
force-includes them as ``dhakacart_bench/_bundled/scenarios`` and
``dhakacart_bench/_bundled/locustfiles``. :func:`bundled_dir` finds either;
:func:`find_locustfile` resolves the ``locustfile`` a scenario names, in the order
documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

BundledKind = Literal["scenarios", "locustfiles"]
_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # dhakacart_bench/
_KINDS: tuple[str, ...] = ("scenarios", "locustfiles")


def bundled_dir(kind: BundledKind) -> Path:
    """Return the folder holding the bundled ``kind`` (``"scenarios"`` or ``"locustfiles"``).

    The wheel location (``dhakacart_bench/_bundled/<kind>``) wins when it
    exists; otherwise the source checkout's ``<repo>/<kind>``. The returned
    folder may not exist (a broken install); callers treat it as empty.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    installed = _PACKAGE_DIR / "_bundled" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / kind


def locustfile_candidates(name: str, *, scenario_dir: Path, cwd: Path) -> list[Path]:
    """The places a scenario's ``locustfile = name`` may be, in lookup order.

    1. relative to the scenario file's folder;
    2. ``../locustfiles/`` next to that folder (a project's ``scenarios/`` and
       ``locustfiles/`` side by side);
    3. ``./locustfiles/`` under the working directory;
    4. the bundled locustfiles.

    An absolute ``name`` is the only candidate.
    """
    given = Path(name).expanduser()
    if given.is_absolute():
        return [given]
    candidates = [
        scenario_dir / given,
        scenario_dir.parent / "locustfiles" / given,
        cwd / "locustfiles" / given,
        bundled_dir("locustfiles") / given,
    ]
    unique: list[Path] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def find_locustfile(name: str, *, scenario_dir: Path, cwd: Path) -> Path | None:
    """Return the first existing file among :func:`locustfile_candidates`, or None."""
    for candidate in locustfile_candidates(name, scenario_dir=scenario_dir, cwd=cwd):
        if candidate.is_file():
            return candidate
    return None
