"""Loading a scenario's locustfile: its user classes, weighted as the scenario says, and
the shape that drives the load (the locustfile's own ``LoadTestShape``, or the stages').

Each class is subclassed so that a stopped user closes its connections, and, for a
worker aimed at its own target, so that its ``host`` wins over the master's.
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import contextlib
import importlib.util
import sys
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.measure.shapes import make_shape_class

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Scenario


def import_locustfile(path: Path, *, shown: str | None = None) -> ModuleType:
    """Import a locustfile once per process (later calls return the same module)."""
    module_name = f"bench_locustfile_{path.stem}_{abs(hash(str(path)))}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ScenarioError(f"cannot import locustfile {path}", path=shown or str(path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        # as Locust does: the locustfile's directory first on sys.path while it is
        # imported, so it can import the modules beside it
        directory = str(Path(path).resolve().parent)
        sys.path.insert(0, directory)
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # the user's code: any failure is bad input
            del sys.modules[module_name]
            raise ScenarioError(
                import_failure(path, exc), path=shown or str(path), key="locustfile"
            ) from exc
        finally:
            if directory in sys.path:
                sys.path.remove(directory)
    return module


def load_shape(scenario: Scenario) -> locust.LoadTestShape:
    """The shape that drives the run: the locustfile's own ``LoadTestShape`` if the
    scenario names one (``bench run -f``), else one following the scenario's stages."""
    if scenario.shape_class is None:
        shape: locust.LoadTestShape = make_shape_class(scenario.load)()
        return shape
    module = import_locustfile(scenario.locustfile, shown=str(scenario.path))
    cls = getattr(module, scenario.shape_class, None)
    if not (isinstance(cls, type) and issubclass(cls, locust.LoadTestShape)):
        raise ScenarioError(
            f"{scenario.shape_class!r} is not a LoadTestShape class in {scenario.locustfile}",
            path=str(scenario.path),
        )
    return cls()


def load_user_classes(scenario: Scenario) -> list[type[locust.User]]:
    """Import the scenario's locustfile and return its user classes, weighted."""
    _track_sockets()
    path = scenario.locustfile
    module = import_locustfile(path, shown=str(scenario.path))
    classes: list[type[locust.User]] = []
    for spec_ in scenario.users:
        cls = getattr(module, spec_.class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, locust.User)):
            raise ScenarioError(
                f"{spec_.class_name!r} is not a Locust User class in {path}",
                path=str(scenario.path),
                key="users",
            )
        attrs: dict[str, Any] = {
            "weight": spec_.weight,
            "__module__": cls.__module__,
            "on_stop": _closing_on_stop(cls),
        }
        if spec_.fixed_count is not None:
            attrs["fixed_count"] = spec_.fixed_count
        if spec_.think_time is not None:
            attrs["wait_time"] = locust.between(*spec_.think_time)
        classes.append(type(cls.__name__, (cls,), attrs))
    return classes


def import_failure(path: Path, exc: BaseException) -> str:
    """``locustfile x.py failed to import: x.py:3: ModuleNotFoundError: No module named
    'nope'`` — the innermost frame inside the locustfile, and the exception."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        line = exc.lineno
    where = f"{path}:{line}" if line is not None else str(path)
    return f"locustfile failed to import: {where}: {type(exc).__name__}: {exc}"


def with_host(cls: type[locust.User], host: str) -> type[locust.User]:
    """``cls`` aimed at ``host`` whatever the master says (a worker's own target address).

    Locust's worker sets every user class's ``host`` from the master on each spawn
    message; an instance attribute set before the user builds its client wins.
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.host = host
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})


def _track_sockets() -> None:
    """Make geventhttpclient's connection pools remember every socket they connect.

    A pool's ``close()`` closes only its idle sockets; one that a user held when it was
    stopped (killed mid-request) is dropped unclosed and warns at garbage collection
    (``ResourceWarning: unclosed <socket>``). ``after_connect`` is the pool's own hook
    for "a socket was just connected"; a WeakSet keeps nothing alive."""
    from geventhttpclient.connectionpool import ConnectionPool

    if getattr(ConnectionPool, "_bench_tracks_sockets", False):
        return
    original = ConnectionPool.after_connect

    def after_connect(self: Any, sock: Any) -> None:
        original(self, sock)
        tracked = self.__dict__.setdefault("_bench_sockets", weakref.WeakSet())
        tracked.add(sock)

    ConnectionPool.after_connect = after_connect  # type: ignore[method-assign]
    ConnectionPool._bench_tracks_sockets = True  # type: ignore[attr-defined]


def open_sockets(user: Any) -> list[Any]:
    """The sockets a FastHttpUser's pools connected that are still open."""
    agent = getattr(getattr(user, "client", None), "client", None)
    clients = getattr(getattr(agent, "clientpool", None), "clients", None) or {}
    found = []
    for client in list(clients.values()):
        pool = getattr(client, "_connection_pool", None)
        for sock in list(getattr(pool, "_bench_sockets", ())):
            if sock.fileno() != -1:
                found.append(sock)
    return found


def _close_client(user: Any) -> None:
    """Close a user's HTTP connections (FastHttpSession keeps them in ``.client``),
    including one it held when it was stopped mid-request."""
    held = open_sockets(user)
    client = getattr(user, "client", None)
    for candidate in (getattr(client, "client", None), client):
        close = getattr(candidate, "close", None)
        if callable(close):
            close()
            break
    for sock in held:
        with contextlib.suppress(OSError):
            sock.close()


def _closing_on_stop(cls: type[locust.User]) -> Callable[[Any], None]:
    """``cls.on_stop``, then close the user's connections: a stopped user leaks no socket."""

    def on_stop(self: Any) -> None:
        try:
            cls.on_stop(self)
        finally:
            _close_client(self)

    return on_stop
