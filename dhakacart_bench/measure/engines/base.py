"""The engine protocol, and what engines and workers share: the names of bench's Locust
messages, the versions master and workers must agree on, ``HOST[:PORT]`` parsing.

Imports no locust, so the CLI can parse ``--bind`` and ``--master`` cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dhakacart_bench import __version__
from dhakacart_bench.errors import UsageError
from dhakacart_bench.runfolder.meta import ArrivalsMeta, GeneratorMeta, WorkersMeta

if TYPE_CHECKING:
    from dhakacart_bench.measure.recorder import Recorder


@dataclass(frozen=True)
class EngineSections:
    """What an engine adds to run.json: generator health, open-model arrivals, workers."""

    generator: GeneratorMeta
    arrivals: ArrivalsMeta | None = None
    workers: WorkersMeta | None = None


class Engine(Protocol):
    """How the load is generated: one process (LocalEngine) or a master (MasterEngine)."""

    runner: Any

    def connect(self, stopping: Callable[[], bool]) -> None: ...
    def begin(self, recorder: Recorder, run_start: float, run_dir: Path) -> None: ...
    def tick(self, now: float) -> None: ...
    def end(self) -> None: ...
    def close(self) -> None: ...
    def sections(self) -> EngineSections: ...


MSG_SCENARIO = "bench_scenario"
MSG_FINAL = "bench_final"
#: master -> workers when the run starts: the run's start time, on which the workers'
#: open-model arrival schedules are laid (the scenario reply is sent before it is known)
MSG_RUN_START = "bench_run_start"
REPORT_KEY = "bench"
DEFAULT_MASTER_PORT = 5557
#: How long a worker keeps asking the master for the scenario.
DEFAULT_CONNECT_TIMEOUT_S = 60.0
#: How long the master waits, after stopping, for every worker's final shipment.
DEFAULT_FINAL_TIMEOUT_S = 15.0


def versions() -> dict[str, str]:
    """The versions master and workers must share (a mismatch is refused)."""
    from importlib.metadata import version

    return {"dhakacart_bench": __version__, "locust": version("locust")}


def parse_address(text: str, *, default_port: int = DEFAULT_MASTER_PORT) -> tuple[str, int]:
    """``HOST[:PORT]`` → (host, port); a bad port is a UsageError."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        host, port = text, ""
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise UsageError(f"expected HOST[:PORT], got {text!r}") from None
    if not 0 <= number <= 65535:
        raise UsageError(f"port out of range in {text!r}")
    return host, number


#: At most this much Python source beside a locustfile is shipped to workers.
SIBLINGS_MAX_BYTES = 4 * 1024 * 1024


def sibling_sources(locustfile: Path) -> dict[str, str]:
    """The Python modules beside ``locustfile`` (``*.py`` in its directory, and packages
    there: directories with an ``__init__.py``) by relative path, for workers to write
    beside their copy — a locustfile that imports a helper module runs on every worker.
    Nothing when they add up to more than :data:`SIBLINGS_MAX_BYTES` (a locustfile in a
    big source tree: the workers then need that tree themselves)."""
    directory = locustfile.resolve().parent
    found = [p for p in directory.glob("*.py") if p.resolve() != locustfile.resolve()]
    for init in directory.glob("*/__init__.py"):
        found += init.parent.rglob("*.py")
    out: dict[str, str] = {}
    size = 0
    for path in sorted(set(found)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        size += len(text)
        if size > SIBLINGS_MAX_BYTES:
            return {}
        out[path.relative_to(directory).as_posix()] = text
    return out
