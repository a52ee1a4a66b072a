"""The sidecar protocol and the context a sidecar runs in.

Sidecars run in the runner's process (the master, in a distributed run), inside its
gevent loop: ``start`` spawns greenlets and returns at once; ``stop`` ends them and
returns the section. They never see Locust users' requests in a distributed run (those
happen on the workers), so they measure with their own requests or read the run's
windows afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dhakacart_bench.scenario.model import Scenario


@dataclass(frozen=True)
class SidecarContext:
    """What a sidecar may use: the scenario, the target and the run's clock."""

    scenario: Scenario
    host: str
    store: Any | None  # a dhakacart_bench.store.ManagedStore for the bundled store, else None
    run_start: float  # epoch seconds; second N of the run is [run_start + N, run_start + N + 1)
    run_dir: Path


class Sidecar(Protocol):
    name: str

    def start(self, ctx: SidecarContext) -> None:
        """Begin (spawn greenlets); must return at once."""

    def stop(self) -> dict[str, Any]:
        """End, write any files into ``ctx.run_dir``, return the run.json section."""
