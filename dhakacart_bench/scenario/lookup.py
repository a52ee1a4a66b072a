"""Finding scenarios: by file path or by name, in ``./scenarios`` then the bundled ones.

:func:`load_scenario` resolves a name or path; :func:`scan_scenarios` lists every
scenario file found, broken ones included with their error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.scenario.parse import load_scenario_file
from dhakacart_bench.scenario.resources import bundled_dir

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Scenario


def _search_dirs(cwd: Path) -> list[tuple[Path, Literal["local", "bundled"]]]:
    local = cwd / "scenarios"
    bundled = bundled_dir("scenarios")
    if local.resolve() == bundled.resolve():
        return [(bundled, "bundled")]
    return [(local, "local"), (bundled, "bundled")]


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text or text.startswith(".")


def load_scenario(name_or_path: str | Path, *, cwd: Path | None = None) -> Scenario:
    """Find and load a scenario by file path or by name.

    Lookup order: an existing file at ``name_or_path`` (relative to ``cwd``),
    then ``<cwd>/scenarios/NAME.toml``, then the bundled ``NAME.toml``, then a
    scenario file there whose ``name`` key is NAME. A missing path, or an
    unknown name, raises ScenarioError (listing the available names).
    """
    cwd = Path.cwd() if cwd is None else cwd
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    if candidate.is_file() or isinstance(name_or_path, Path) or _looks_like_path(text):
        return load_scenario_file(candidate, cwd=cwd)
    for folder, _source in _search_dirs(cwd):
        path = folder / f"{text}.toml"
        if path.is_file():
            return load_scenario_file(path, cwd=cwd)
    for folder, _source in _search_dirs(cwd):
        for path in sorted(folder.glob("*.toml")):
            if _declared_name(path) == text:
                return load_scenario_file(path, cwd=cwd)
    names = sorted({entry.name for entry in scan_scenarios(cwd=cwd, parse=False)})
    available = ", ".join(names) if names else "none found"
    raise ScenarioError(
        f'no scenario named "{text}" in {cwd / "scenarios"} or the bundled scenarios '
        f"(available: {available}); or give the path of a .toml file"
    )


def _declared_name(path: Path) -> str | None:
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class ScenarioEntry:
    """A scenario file found by :func:`scan_scenarios`: valid (``scenario``) or not (``error``)."""

    name: str
    path: Path
    source: Literal["local", "bundled"]
    scenario: Scenario | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.scenario is not None


def scan_scenarios(*, cwd: Path | None = None, parse: bool = True) -> list[ScenarioEntry]:
    """Every scenario file in ``<cwd>/scenarios`` then the bundled ones, each parsed.

    A local file shadows a bundled file of the same stem (the bundled one is
    left out). A broken file does not stop the scan: its entry carries the
    error message instead of a scenario. ``parse=False`` only lists the files.
    """
    cwd = Path.cwd() if cwd is None else cwd
    entries: list[ScenarioEntry] = []
    seen: set[str] = set()
    for folder, source in _search_dirs(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.stem in seen:
                continue
            seen.add(path.stem)
            if not parse:
                entries.append(ScenarioEntry(name=path.stem, path=path, source=source))
                continue
            try:
                scenario = load_scenario_file(path, cwd=cwd)
            except ScenarioError as exc:
                entries.append(
                    ScenarioEntry(name=path.stem, path=path, source=source, error=str(exc))
                )
            else:
                entries.append(
                    ScenarioEntry(name=scenario.name, path=path, source=source, scenario=scenario)
                )
    return entries


def list_scenarios(*, cwd: Path | None = None) -> list[Scenario]:
    """The valid scenarios, local (``./scenarios``) first, then bundled.

    Broken files are skipped here; :func:`scan_scenarios` reports them.
    """
    return [entry.scenario for entry in scan_scenarios(cwd=cwd) if entry.scenario is not None]
