"""The local engine: one process, Locust's ``LocalRunner``, with the open model's gate."""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locust.env import Environment

from dhakacart_bench.measure.arrivals import ArrivalGate, open_model_class
from dhakacart_bench.measure.engines.base import EngineSections
from dhakacart_bench.measure.engines.locustfile import load_shape, load_user_classes
from dhakacart_bench.measure.health import GeneratorMonitor, assess
from dhakacart_bench.measure.outcomes import add_listener, remove_listener
from dhakacart_bench.measure.shapes import arrival_rate_at

if TYPE_CHECKING:
    from dhakacart_bench.measure.config import RunConfig
    from dhakacart_bench.measure.recorder import Recorder
    from dhakacart_bench.scenario.model import Scenario


class LocalEngine:
    """One process: Locust's LocalRunner, with the open model's gate if any."""

    workers = 0

    def __init__(
        self,
        scenario: Scenario,
        host: str,
        config: RunConfig,
        *,
        wrap: Callable[[type[locust.User]], type[locust.User]] | None = None,
        arrival_lanes: Sequence[str] = (),
        lane_of: Callable[[Any], str] | None = None,
    ) -> None:
        user_classes = load_user_classes(scenario)
        if wrap is not None:  # e.g. the A/B run's arm assignment (measure/arms.py)
            user_classes = [wrap(cls) for cls in user_classes]
        load = scenario.load
        self.gate: ArrivalGate | None = None
        if load.model == "open":
            # lanes: an A/B run offers each arm its own half of the arrivals
            self.gate = ArrivalGate(
                lambda t: arrival_rate_at(load, t), arrival=load.arrival, lanes=arrival_lanes
            )
            user_classes = [open_model_class(cls, self.gate, lane_of) for cls in user_classes]
        env = Environment(
            user_classes=user_classes,
            shape_class=load_shape(scenario),
            events=locust.events,
            host=host,
            stop_timeout=config.stop_timeout_s,
        )
        self.runner = env.create_local_runner()
        self.monitor = GeneratorMonitor()
        self.recorder: Recorder | None = None

    def connect(self, stopping: Callable[[], bool]) -> None:
        """Nothing to connect in one process."""

    def begin(self, recorder: Recorder, run_start: float, run_dir: Path) -> None:
        self.recorder = recorder
        locust.events.request.add_listener(recorder.on_request)
        add_listener(recorder.on_outcome)
        self.monitor.start()
        if self.gate is not None:
            self.gate.start(run_start)

    def tick(self, now: float) -> None:
        assert self.recorder is not None
        cpu, lag = self.monitor.sample()
        self.recorder.set_generator_sample(cpu, lag, now)

    def end(self) -> None:
        self.runner.quit()

    def close(self) -> None:
        self.monitor.stop()
        if self.gate is not None:
            self.gate.stop()
        if self.recorder is not None:
            locust.events.request.remove_listener(self.recorder.on_request)
            remove_listener(self.recorder.on_outcome)

    def sections(self) -> EngineSections:
        return EngineSections(
            generator=assess(
                self.monitor.samples,
                processes=1,
                cpu_count=os.cpu_count(),
                peak_rss_mib=self.monitor.peak_rss_mib,
            ),
            arrivals=self.gate.stats() if self.gate is not None else None,
        )
