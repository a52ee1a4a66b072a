"""`bench run -f` as a Locust user runs it: a plain locustfile, Locust's flags, no TOML.

Each run is a real `bench` process against a tiny HTTP target on 127.0.0.1, a few
seconds long; the assertions read the run folder bench wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = [sys.executable, "-m", "dhakacart_bench"]
EXAMPLES = Path(__file__).parents[2] / "examples"

QUICK_USER = """
from locust import HttpUser, constant, task


class Quick(HttpUser):
    wait_time = constant(0.2)
    {host}

    @task
    def one(self):
        self.client.get("/api/products/1")
"""


def _bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BENCH, "run", *args, "--reports-dir", str(cwd / "reports"), "-q", "--no-report"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def _meta(cwd: Path) -> dict:
    (run,) = list((cwd / "reports").iterdir())
    return dict(json.loads((run / "run.json").read_text()))


def _users_by_second(cwd: Path) -> list[int]:
    (run,) = list((cwd / "reports").iterdir())
    lines = (run / "timeseries.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[2]) for line in lines]


def test_a_plain_locustfile_runs_with_locusts_flags(tmp_path: Path, tiny_target: str) -> None:
    proc = _bench(
        "-f", str(EXAMPLES / "basic.py"), "-u", "10", "-r", "10", "-t", "10s", "-H", tiny_target,
        "--slo", "p95_ms<5000", cwd=tmp_path,
    )  # fmt: skip
    # 0, or 3 when ~100 requests are too few for a verdict or the machine is busy
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    assert "Verdict: " in proc.stdout and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == f"Target: {tiny_target} (from -H/--host)"
    meta = _meta(tmp_path)
    assert meta["target"] == "external" and meta["host"] == tiny_target
    assert meta["users"]["peak"] == 10 and meta["users"]["requested_peak"] == 10
    assert [u["class_name"] for u in meta["scenario"]["users"]] == ["WebsiteUser"]
    assert [s["metric"] for s in meta["scenario"]["slos"]] == ["p95_ms"]
    assert 9.5 <= meta["duration_s"] < 20
    assert meta["generator"]["peak_rss_mib"] > 10
    assert meta["generator"]["peak_rss_kib_per_user"] > 0
    assert "peak memory" in proc.stdout


def test_a_class_level_host_is_honoured(tmp_path: Path, tiny_target: str) -> None:
    (tmp_path / "lf.py").write_text(QUICK_USER.format(host=f"host = {tiny_target!r}"))
    proc = _bench("-f", "lf.py", "-u", "2", "-r", "2", "-t", "3s", cwd=tmp_path)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3: too few requests to judge
    assert proc.stderr.splitlines()[0] == f"Target: {tiny_target} (from Quick.host in lf.py)"
    meta = _meta(tmp_path)
    assert meta["target"] == "external" and meta["host"] == tiny_target
    assert meta["target_reason"] == "from Quick.host in lf.py"
    assert meta["users"]["peak"] == 2


def test_a_load_test_shape_drives_the_load(tmp_path: Path, tiny_target: str) -> None:
    (tmp_path / "shaped.py").write_text(
        QUICK_USER.format(host="")
        + "\n\nfrom locust import LoadTestShape\n\n\nclass Steps(LoadTestShape):\n"
        "    def tick(self):\n        t = self.get_run_time()\n"
        "        if t < 3:\n            return 2, 10\n"
        "        if t < 6:\n            return 5, 10\n        return None\n"
    )
    proc = _bench("-f", "shaped.py", "-u", "50", "-H", tiny_target, cwd=tmp_path)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    assert "Steps (a LoadTestShape) drives the load: -u ignored" in proc.stderr
    meta = _meta(tmp_path)
    assert meta["scenario"]["shape_class"] == "Steps"
    stages = [(s["duration_s"], s["users"]) for s in meta["scenario"]["load"]["stages"]]
    assert stages == [(3.0, 2), (3.0, 5)]  # the plan, ticked on a simulated clock
    users = _users_by_second(tmp_path)
    assert max(users) == 5 == meta["users"]["peak"]  # the shape's peak, not -u 50
    assert 2 in users  # the first step ran
    assert 5.5 <= meta["duration_s"] < 15


def test_locust_conf_is_read(tmp_path: Path, tiny_target: str) -> None:
    (tmp_path / "locustfile.py").write_text(QUICK_USER.format(host=""))
    (tmp_path / "locust.conf").write_text(
        f"users = 3\nspawn-rate = 3\nrun-time = 3s\nhost = {tiny_target}\nheadless = true\n"
        "csv = results\n"
    )
    proc = _bench(cwd=tmp_path)  # no arguments at all: Locust's locustfile.py and locust.conf
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    first, *rest = proc.stderr.splitlines()
    assert first == f"Target: {tiny_target} (from host in locust.conf)"
    assert any("not supported by bench, no effect: --csv" in line for line in rest)
    meta = _meta(tmp_path)
    assert meta["users"]["peak"] == 3 and meta["host"] == tiny_target
    assert meta["scenario"]["load"]["stages"][0]["duration_s"] == 3
