"""Reading a plain locustfile as Locust does: its User classes, their hosts, its shape's plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.measure.engines.locustfile_info import inspect_locustfile, plan_shape
from dhakacart_bench.scenario.model import Stage

EXAMPLES = Path(__file__).parents[2] / "examples"


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_basic_example_has_one_http_user() -> None:
    info = inspect_locustfile(EXAMPLES / "basic.py")
    assert [c.name for c in info.classes] == ["WebsiteUser"]
    assert info.classes[0].host is None and info.shape is None
    assert info.doc.startswith("A plain locustfile")


def test_classes_in_file_order_with_weights_hosts_and_no_abstract(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "many.py",
        "from locust import FastHttpUser, HttpUser, User, task\n"
        "class Base(HttpUser):\n    abstract = True\n"
        "class Zed(HttpUser):\n    weight = 3\n    host = 'http://127.0.0.1:1'\n"
        "    @task\n    def t(self): pass\n"
        "class Alpha(FastHttpUser):\n    fixed_count = 2\n    @task\n    def t(self): pass\n",
    )
    info = inspect_locustfile(path)
    assert [(c.name, c.weight, c.fixed_count, c.host) for c in info.classes] == [
        ("Zed", 3, 0, "http://127.0.0.1:1"),
        ("Alpha", 1, 2, None),
    ]


def test_a_shape_is_planned_on_a_simulated_clock() -> None:
    info = inspect_locustfile(EXAMPLES / "shape.py")
    assert info.shape == "StepShape"
    assert info.shape_stages == (Stage(6.0, 5, 5.0), Stage(6.0, 10, 5.0))


def test_a_shape_that_never_ends_is_refused() -> None:
    from locust import LoadTestShape

    class Forever(LoadTestShape):
        def tick(self) -> tuple[int, float]:
            return 1, 1.0

    with pytest.raises(ScenarioError, match="still answers after 1 h"):
        plan_shape(Forever, limit_s=3600)


def test_a_shape_reading_the_live_runner_is_refused_with_the_reason() -> None:
    from locust import LoadTestShape

    class Adaptive(LoadTestShape):
        def tick(self) -> tuple[int, float]:
            return self.runner.user_count + 1, 1.0

    with pytest.raises(ScenarioError, match="cannot plan Adaptive: tick\\(\\) at 0 s raised"):
        plan_shape(Adaptive)


def test_missing_locustfile(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        inspect_locustfile(tmp_path / "nope.py")


def test_a_locustfile_imports_the_modules_beside_it(tmp_path: Path) -> None:
    import sys

    from dhakacart_bench.measure.engines.locustfile import import_locustfile

    (tmp_path / "beside_helper_x.py").write_text("VALUE = 42\n")
    (tmp_path / "lf_beside.py").write_text("from beside_helper_x import VALUE\n")
    before = list(sys.path)
    module = import_locustfile(tmp_path / "lf_beside.py")
    assert module.VALUE == 42
    assert sys.path == before  # the directory was on sys.path only while importing


def test_workers_get_the_modules_beside_the_locustfile(tmp_path: Path) -> None:
    from dhakacart_bench.measure.engines.base import sibling_sources
    from dhakacart_bench.measure.engines.worker import materialise_scenario
    from dhakacart_bench.scenario.lookup import load_scenario

    source = tmp_path / "src"
    (source / "pkg" / "sub").mkdir(parents=True)
    (source / "lf.py").write_text("import helper\n")
    (source / "helper.py").write_text("X = 1\n")
    (source / "pkg" / "__init__.py").write_text("")
    (source / "pkg" / "sub" / "deep.py").write_text("Y = 2\n")
    (source / "notes.txt").write_text("not python")
    shipped = sibling_sources(source / "lf.py")
    assert set(shipped) == {"helper.py", "pkg/__init__.py", "pkg/sub/deep.py"}

    scenario = load_scenario("smoke").to_dict()
    data = {
        "scenario": scenario,
        "locustfile_name": "lf.py",
        "locustfile_source": "import helper\n",
        "locustfile_siblings": {**shipped, "../escape.py": "BAD = 1\n"},
    }
    work = tmp_path / "work"
    work.mkdir()
    materialised = materialise_scenario(data, work)
    assert materialised.locustfile == work / "lf.py"
    assert (work / "pkg" / "sub" / "deep.py").read_text() == "Y = 2\n"
    assert not (tmp_path / "escape.py").exists()
