"""What a plain locustfile holds, read the way Locust reads it (``bench run -f``).

:func:`inspect_locustfile` imports the file (once per process, as the engines do) and
picks its classes with Locust's own tests (``locust.util.load_locustfile``:
``is_user_class``, ``is_shape_class``). A ``LoadTestShape`` is planned by ticking a
fresh instance on a simulated clock, one second at a time, until ``tick()`` returns None:
the plan is the run's declared load (its length and peak); the run itself is driven by
another instance of the class, on Locust's own clock, exactly as Locust drives it.
"""

from __future__ import annotations

import locust  # first: it patches gevent, before anything imports ssl

# isort: split
import inspect
from pathlib import Path
from typing import Any

from locust.util.load_locustfile import is_shape_class, is_user_class

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.measure.engines.locustfile import import_locustfile
from dhakacart_bench.scenario.from_locust import ClassInfo, LocustfileInfo
from dhakacart_bench.scenario.model import Stage

#: A shape still ticking after this much simulated time is refused (it never ends).
MAX_SHAPE_PLAN_S = 24 * 3600


def inspect_locustfile(path: Path) -> LocustfileInfo:
    """The locustfile's concrete User classes (in file order) and its shape's plan."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ScenarioError(f"locustfile {path} not found", path=str(path))
    module = import_locustfile(path)
    members = [value for _, value in inspect.getmembers(module)]
    users = [m for m in members if is_user_class(m) and not m.__name__.startswith("_")]
    users.sort(key=_definition_order)
    shapes = [m for m in members if is_shape_class(m)]
    if len(shapes) > 1:
        raise ScenarioError(
            f"{path.name} has {len(shapes)} LoadTestShape classes"
            f" ({', '.join(s.__name__ for s in shapes)}); Locust allows one",
            path=str(path),
        )
    shape = shapes[0] if shapes else None
    return LocustfileInfo(
        path=path,
        classes=tuple(_class_info(cls) for cls in users),
        doc=inspect.getdoc(module) or "",
        shape=shape.__name__ if shape is not None else None,
        shape_stages=plan_shape(shape) if shape is not None else (),
    )


def _definition_order(cls: type) -> tuple[int, str]:
    try:
        return inspect.getsourcelines(cls)[1], cls.__name__
    except (OSError, TypeError):
        return 1 << 30, cls.__name__


def _class_info(cls: type[locust.User]) -> ClassInfo:
    host = getattr(cls, "host", None)
    return ClassInfo(
        name=cls.__name__,
        weight=int(getattr(cls, "weight", 1) or 0),
        fixed_count=int(getattr(cls, "fixed_count", 0) or 0),
        host=host if isinstance(host, str) and host else None,
    )


def plan_shape(shape_cls: type[Any], *, limit_s: int = MAX_SHAPE_PLAN_S) -> tuple[Stage, ...]:
    """Tick a fresh ``shape_cls`` at 0, 1, 2, … simulated seconds; merge equal answers.

    Locust's runner ticks its shape once a second; a shape that reads
    ``get_run_time()`` (as Locust's examples do) gets the simulated clock. A shape that
    needs a live runner (``self.runner.user_count``) cannot be planned and is refused.
    """
    shape = shape_cls()
    clock = [0.0]
    shape.get_run_time = lambda: clock[0]
    shape.runner = None
    stages: list[Stage] = []
    for second in range(limit_s + 1):
        clock[0] = float(second)
        try:
            answer = shape.tick()
        except Exception as exc:  # a shape reading the live runner, or a bug in it
            raise ScenarioError(
                f"cannot plan {shape_cls.__name__}: tick() at {second} s raised"
                f" {type(exc).__name__}: {exc} (bench plans a shape on a simulated clock"
                " through get_run_time())"
            ) from None
        if answer is None:
            return tuple(stages)
        users, rate = int(answer[0]), float(answer[1])
        last = stages[-1] if stages else None
        if last is not None and last.users == users and last.spawn_rate == rate:
            stages[-1] = Stage(duration_s=last.duration_s + 1.0, users=users, spawn_rate=rate)
        else:
            stages.append(Stage(duration_s=1.0, users=users, spawn_rate=rate))
    raise ScenarioError(
        f"{shape_cls.__name__}.tick() still answers after {limit_s // 3600} h of simulated"
        " time: give the shape an end (return None) so the run has a known length"
    )
