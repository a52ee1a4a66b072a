"""Parsing a scenario file: the top-level keys, ``[[users]]``, ``[store]`` and ``[load]``.

Every problem raises :class:`~dhakacart_bench.errors.ScenarioError` naming the file,
the dotted key (``load.stages[2].users``) and what was expected. The checks tables
(SLOs, gate, probe, events) are parsed by :mod:`~dhakacart_bench.scenario.parse_checks`.
"""

from __future__ import annotations

import ast
import copy
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.humanize import parse_duration
from dhakacart_bench.scenario.model import (
    ARRIVALS,
    DEFAULT_ARRIVAL,
    DEFAULT_MODEL,
    MODELS,
    CandidateSpec,
    LoadSpec,
    Scenario,
    Stage,
    StoreSpec,
    UserSpec,
)
from dhakacart_bench.scenario.parse_checks import parse_events, parse_gate, parse_probe, parse_slos
from dhakacart_bench.scenario.resources import find_locustfile, locustfile_candidates
from dhakacart_bench.scenario.tables import Table, show, suggest

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Arrival, Model


_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = (
    "name",
    "description",
    "locustfile",
    "host",
    "users",
    "store",
    "load",
    "slo",
    "gate",
    "probe",
    "events",
    "candidate",
)
_USER_KEYS = ("class", "weight", "fixed_count", "think_time")
_STORE_KEYS = (
    "products",
    "deal_stock",
    "deal_per_user_limit",
    "deal_opens_at",
    "workers",
    "threads",
    "users",
    "faults",
)
_LOAD_KEYS = ("model", "reference_users", "default_users", "max_users", "arrival", "stages")
_STAGE_KEYS = ("duration", "users", "spawn_rate", "arrival_rate", "ramp")
_CLOSED_ONLY = ("users", "spawn_rate")
_OPEN_ONLY = ("arrival_rate", "ramp")


def load_scenario_file(path: str | Path, *, cwd: Path | None = None) -> Scenario:
    """Read and validate one scenario file."""
    cwd = Path.cwd() if cwd is None else cwd
    path = Path(path).expanduser()
    if not path.is_absolute():
        path = cwd / path
    shown = str(path)
    if path.is_dir():
        raise ScenarioError("expected a scenario .toml file, got a directory", path=shown)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", path=shown) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc.strerror}", path=shown) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason})", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", path=shown) from None
    return _parse_scenario(data, path=path.resolve(), cwd=cwd)


def _parse_scenario(data: Mapping[str, Any], *, path: Path, cwd: Path) -> Scenario:
    top = Table(data, path=str(path), prefix="", allowed=_TOP_KEYS)
    name = top.string("name", path.stem)
    if not _SLUG_RE.match(name):
        top.fail(
            "name",
            "expected a slug (lower-case letters, digits, - and _, "
            f"starting with a letter or digit), got {show(name)}",
        )
    description = top.string("description", "")
    locustfile = _parse_locustfile(top, scenario_dir=path.parent, cwd=cwd)
    host = _parse_host(top)
    load = _parse_load(top)
    probe = parse_probe(top)
    return Scenario(
        name=name,
        description=description.strip(),
        path=path,
        locustfile=locustfile,
        users=_parse_users(top, locustfile),
        host=host,
        store=_parse_store(top),
        load=load,
        slos=parse_slos(top, probe=probe),
        gate=parse_gate(top),
        probe=probe,
        events=parse_events(top, length_s=load.duration_s, host=host),
        candidate=_parse_candidate(top),
    )


def _parse_locustfile(top: Table, *, scenario_dir: Path, cwd: Path) -> Path:
    name = top.string("locustfile")
    if not name.strip():
        top.fail("locustfile", 'expected the name of a Python file such as "shoppers.py", got ""')
    found = find_locustfile(name, scenario_dir=scenario_dir, cwd=cwd)
    if found is None:
        tried = ", ".join(
            str(p) for p in locustfile_candidates(name, scenario_dir=scenario_dir, cwd=cwd)
        )
        top.fail("locustfile", f"locustfile {show(name)} not found (looked for {tried})")
    return found


def locustfile_classes(path: Path) -> tuple[set[str], set[str]]:
    """(classes defined, names imported) at module level of a locustfile, without importing it.

    Names bound by ``from x import Name`` count too when checking a user class
    (a locustfile may re-export user classes from a shared module). Raises
    ``ValueError`` when the file cannot be read or is not valid Python.
    """
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read locustfile {path}: {exc}") from exc
    except SyntaxError as exc:
        raise ValueError(
            f"locustfile {path} is not valid Python (line {exc.lineno}): {exc.msg}"
        ) from None
    classes: set[str] = set()
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            imported.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return classes, imported


def _parse_users(top: Table, locustfile: Path) -> tuple[UserSpec, ...]:
    items = top.tables(
        "users", _USER_KEYS, required=True, expected="user class ([[users]] class = ...)"
    )
    try:
        defined, imported = locustfile_classes(locustfile)
    except ValueError as exc:
        top.fail("locustfile", str(exc))
    specs: list[UserSpec] = []
    seen: set[str] = set()
    for item in items:
        class_name = item.string("class")
        if not _IDENTIFIER_RE.match(class_name):
            item.fail("class", f"expected a Python class name, got {show(class_name)}")
        if class_name not in defined and class_name not in imported:
            available = ", ".join(sorted(defined)) or "none"
            item.fail(
                "class",
                f"user class {show(class_name)} is not defined in {locustfile}"
                f"{suggest(class_name, sorted(defined))}; classes there: {available}",
            )
        if class_name in seen:
            item.fail("class", f"user class {show(class_name)} is listed twice")
        seen.add(class_name)
        if item.has("weight") and item.has("fixed_count"):
            item.fail("fixed_count", "give either weight or fixed_count, not both")
        specs.append(
            UserSpec(
                class_name=class_name,
                weight=item.integer("weight", 1),
                fixed_count=item.integer("fixed_count", None),
                think_time=_parse_think_time(item),
            )
        )
    return tuple(specs)


def _parse_think_time(item: Table) -> tuple[float, float] | None:
    if not item.has("think_time"):
        return None
    value = item.data["think_time"]
    expected = 'two durations [min, max], e.g. ["0.2s", "1s"] or [0.2, 1]'
    if not isinstance(value, list) or len(value) != 2:
        item.fail("think_time", f"expected {expected}, got {show(value)}")
    try:
        low, high = (parse_duration(v) for v in value)
    except ValueError as exc:
        item.fail("think_time", str(exc))
    if low > high:
        item.fail("think_time", f"expected min <= max, got {show(value)}")
    return (low, high)


def _parse_host(top: Table) -> str | None:
    host = top.string("host", "")
    if host == "":
        return None
    problem = host_problem(host)
    if problem is not None:
        top.fail("host", f'{problem}, or "" for the bundled store, got {show(host)}')
    return host.rstrip("/")


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a target base URL (http or https with a host name), or None.

    The one check for both the scenario's ``host`` key and ``--host``."""
    from urllib.parse import urlsplit

    expected = 'expected an http(s) URL such as "https://staging.example.com"'
    if any(ch.isspace() for ch in host):
        return expected
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return expected
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    return None


def _parse_store(top: Table) -> StoreSpec:
    store = top.table("store", _STORE_KEYS)
    defaults = StoreSpec()
    faults = store.data.get("faults")
    if faults is not None and not isinstance(faults, Mapping):
        store.fail("faults", f"expected a table ([store.faults]), got {show(faults)}")
    return StoreSpec(
        products=store.integer("products", defaults.products),
        deal_stock=store.integer("deal_stock", defaults.deal_stock, minimum=0),
        deal_per_user_limit=store.integer("deal_per_user_limit", defaults.deal_per_user_limit),
        deal_opens_at_s=store.duration("deal_opens_at", None, positive=False),
        workers=store.integer("workers", defaults.workers),
        threads=store.integer("threads", defaults.threads),
        users=store.integer("users", defaults.users, minimum=0),
        faults=None if faults is None else copy.deepcopy(dict(faults)),
    )


def _parse_candidate(top: Table) -> CandidateSpec | None:
    """``[candidate]``: the A/B run's bundled candidate — ``store_workers`` and
    ``[candidate.faults]`` (the store's fault knobs, as ``--candidate-faults``)."""
    if not top.has("candidate"):
        return None
    table = top.table("candidate", ("faults", "store_workers"))
    faults = table.data.get("faults")
    if faults is not None and not isinstance(faults, Mapping):
        table.fail("faults", f"expected a table ([candidate.faults]), got {show(faults)}")
    workers = table.integer("store_workers", None)
    return CandidateSpec(
        faults=None if faults is None else copy.deepcopy(dict(faults)), store_workers=workers
    )


def _parse_load(top: Table) -> LoadSpec:
    if not top.has("load"):
        top.fail("load", "missing required [load] table (expected [[load.stages]])")
    load = top.table("load", _LOAD_KEYS)
    model: Model = "open" if load.choice("model", MODELS, DEFAULT_MODEL) == "open" else "closed"
    items = load.tables("stages", _STAGE_KEYS, required=True, expected="stage")
    stages = tuple(_parse_stage(item, model) for item in items)

    if model == "closed":
        for key in ("max_users", "arrival"):
            if load.has(key):
                load.fail(key, f'"{key}" is for the open model only (model = "open")')
        peak = max((stage.users or 0) for stage in stages)
        if peak < 1:
            load.fail("stages", "expected at least one stage with users >= 1, got none")
        max_users = None
        arrival: Arrival = DEFAULT_ARRIVAL
    else:
        if not load.has("max_users"):
            load.fail(
                "max_users",
                "missing required key (the open model needs max_users = N, "
                "the pool of users serving arrivals)",
            )
        max_users = load.integer("max_users")
        arrival = (
            "uniform"
            if load.choice("arrival", ARRIVALS, DEFAULT_ARRIVAL) == "uniform"
            else "poisson"
        )
        if not any((stage.arrival_rate or 0) > 0 for stage in stages):
            load.fail("stages", "expected at least one stage with arrival_rate > 0, got none")
        peak = max_users

    reference = load.integer("reference_users", peak)
    if reference != peak:
        what = "the largest stage users" if model == "closed" else "max_users"
        load.fail(
            "reference_users",
            f"expected the scenario's full size as written ({what} = {peak}), got {reference}",
        )
    default_users = load.integer("default_users", reference)
    return LoadSpec(
        model=model,
        stages=stages,
        reference_users=reference,
        default_users=default_users,
        max_users=max_users,
        arrival=arrival,
    )


def _parse_stage(item: Table, model: Model) -> Stage:
    duration = item.duration("duration")
    if model == "closed":
        for key in _OPEN_ONLY:
            if item.has(key):
                item.fail(key, f'"{key}" is for open-model stages; a closed stage takes users')
        if not item.has("users"):
            item.fail("users", "missing required key (a closed-model stage needs users = N)")
        return Stage(
            duration_s=duration,
            users=item.integer("users", minimum=0),
            spawn_rate=item.number("spawn_rate", None, positive=True),
        )
    for key in _CLOSED_ONLY:
        if item.has(key):
            item.fail(key, f'"{key}" is for closed-model stages; an open stage takes arrival_rate')
    if not item.has("arrival_rate"):
        item.fail(
            "arrival_rate",
            "missing required key (an open-model stage needs arrival_rate = iterations/s)",
        )
    return Stage(
        duration_s=duration,
        arrival_rate=item.number("arrival_rate"),
        ramp=item.boolean("ramp", False),
    )
