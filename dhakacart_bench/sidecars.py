"""Sidecars: things that run beside the load for the length of a run.

The load itself is Locust's; a sidecar does something else on a clock while
it runs — probe availability at a fixed rate, trigger a deploy at a set time,
inject a fault — and returns a JSON-able section that the runner stores in
``run.json`` under ``"sidecars"`` → ``<name>``. A sidecar may also write its
own files into the run folder.

Sidecars run in the runner's process (the master, in a distributed run), inside
its gevent loop: ``start`` spawns greenlets and returns at once; ``stop`` ends
them and returns the section. They never see Locust users' requests in a
distributed run (those happen on the workers), so they measure with their own
requests or read the run's windows afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dhakacart_bench.scenario import Scenario


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


def build_sidecars(scenario: Scenario) -> list[Sidecar]:
    """The sidecars a scenario asks for: the availability probe (``[probe]``) and the
    timed events (``[[events]]``), see :mod:`dhakacart_bench.reliability`; none when
    the scenario has neither."""
    from dhakacart_bench.reliability import build_reliability_sidecars

    return list(build_reliability_sidecars(scenario.probe, scenario.events))
