"""Target precedence as in Locust: -H, the scenario's host, the user classes' host, else the
bundled store — and the reason, for the run's first line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dhakacart_bench.errors import UsageError
from dhakacart_bench.measure.engines.locustfile_info import inspect_locustfile
from dhakacart_bench.measure.targets import resolve_target
from dhakacart_bench.scenario.from_locust import LocustFlags, scenario_from_locustfile

CLASSES = """
from locust import HttpUser, task
class A(HttpUser):
    host = {a!r}
    @task
    def t(self): pass
class B(HttpUser):
    host = {b!r}
    @task
    def t(self): pass
"""


def _scenario(tmp_path: Path, a: str | None, b: str | None, name: str = "lf.py") -> object:
    path = tmp_path / name
    path.write_text(CLASSES.format(a=a, b=b))
    scenario, _ = scenario_from_locustfile(inspect_locustfile(path), LocustFlags(run_time_s=5))
    return scenario


def test_precedence(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "http://class:1", None)
    flag = resolve_target("http://flag:1", scenario)  # type: ignore[arg-type]
    assert (flag.host, flag.reason) == ("http://flag:1", "from -H/--host")
    with_host = dataclasses.replace(scenario, host="http://scenario:1")  # type: ignore[type-var]
    own = resolve_target(None, with_host)
    assert own.host == "http://scenario:1" and own.reason == "from host in lf.py"
    cls = resolve_target(None, scenario)  # type: ignore[arg-type]
    assert cls.host == "http://class:1"
    assert cls.line == "Target: http://class:1 (from A.host in lf.py)"
    conf = resolve_target("http://conf:1", scenario, source="host in locust.conf")  # type: ignore[arg-type]
    assert conf.line == "Target: http://conf:1 (from host in locust.conf)"


def test_the_bundled_store_only_when_no_host_is_given(tmp_path: Path) -> None:
    target = resolve_target(None, _scenario(tmp_path, None, None, "none.py"))  # type: ignore[arg-type]
    assert target.host is None
    assert target.line.startswith("Target: the bundled store")
    assert "no host on the user classes" in target.line


def test_classes_aiming_at_different_hosts_need_a_flag(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "http://a:1", "http://b:1", "two.py")
    with pytest.raises(UsageError, match=r"different hosts .*choose it with -H"):
        resolve_target(None, scenario)  # type: ignore[arg-type]
    assert resolve_target("http://c:1", scenario).host == "http://c:1"  # type: ignore[arg-type]
