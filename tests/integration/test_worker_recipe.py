"""The worker VM recipe, across network namespaces."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[2] / "ci" / "workers"


TARGET = (
    "import http.server as h\n"
    "class H(h.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers()\n"
    "        self.wfile.write(b'{}')\n"
    "    def log_message(self, *a): pass\n"
    "h.ThreadingHTTPServer((ADDR, 8080), H).serve_forever()\n"
)


LOCUSTFILE = (
    "from locust import constant, task\n"
    "from locust.contrib.fasthttp import FastHttpUser\n\n"
    "class Reader(FastHttpUser):\n"
    "    wait_time = constant(0.05)\n\n"
    "    @task\n"
    "    def read(self):\n"
    "        self.client.get('/api/products/1', name='/api/products/[id]')\n"
)


def _indented(text: str) -> str:
    return "".join("      " + line if line.strip() else line for line in text.splitlines(True))


def _can_make_namespaces() -> str | None:
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str, str, str]]:
    """Two namespaces joined by a veth pair: (master ns, worker ns, master addr, worker addr)."""
    reason = _can_make_namespaces()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the namespace test: {reason}")
        pytest.skip(reason)
    tag = f"{os.getpid() % 10000}{random.randint(0, 99)}"
    master_ns, worker_ns = f"benchm{tag}", f"benchw{tag}"
    subnet = f"10.213.{random.randint(1, 250)}"
    master_addr, worker_addr = f"{subnet}.1", f"{subnet}.2"
    veth_m, veth_w = f"bm{tag}", f"bw{tag}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", master_ns)
        ip("netns", "add", worker_ns)
        ip("link", "add", veth_m, "type", "veth", "peer", "name", veth_w)
        ip("link", "set", veth_m, "netns", master_ns)
        ip("link", "set", veth_w, "netns", worker_ns)
        for ns, dev, addr in ((master_ns, veth_m, master_addr), (worker_ns, veth_w, worker_addr)):
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield master_ns, worker_ns, master_addr, worker_addr
    finally:
        for ns in (master_ns, worker_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_cloud_init_embeds_the_script_and_unit_verbatim() -> None:
    cloud_init = (RECIPE / "cloud-init.yaml").read_text()
    assert cloud_init.startswith("#cloud-config\n")
    assert _indented((RECIPE / "start-worker.sh").read_text()) in cloud_init
    assert _indented((RECIPE / "bench-worker.service").read_text()) in cloud_init
    unit = (RECIPE / "bench-worker.service").read_text()
    assert "ExecStart=/opt/dhakacart-bench/start-worker.sh" in unit


def test_start_script_joins_a_master_across_namespaces(
    tmp_path: Path, two_hosts: tuple[str, str, str, str]
) -> None:
    master_ns, worker_ns, master_addr, _ = two_hosts
    (tmp_path / "users.py").write_text(LOCUSTFILE)
    scenario = tmp_path / "netns.toml"
    scenario.write_text(
        'name = "netns"\ndescription = "test"\nlocustfile = "users.py"\n\n'
        '[[users]]\nclass = "Reader"\n\n[load]\nmodel = "closed"\n\n'
        '[[load.stages]]\nduration = "4s"\nusers = 4\nspawn_rate = 10\n'
    )
    bench = str(Path(sys.executable).with_name("bench"))
    netns = ["ip", "netns", "exec"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    *netns,
                    master_ns,
                    sys.executable,
                    "-c",
                    TARGET.replace("ADDR", repr(master_addr)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        master = subprocess.Popen(
            [
                *netns,
                master_ns,
                bench,
                "master",
                str(scenario),
                "--host",
                f"http://{master_addr}:8080",
                "--expect-workers",
                "1",
                "--bind",
                f"{master_addr}:5557",
                "--reports-dir",
                str(tmp_path / "reports"),
                "--no-report",
                "-q",
                "--worker-timeout",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        procs.append(master)
        env = {**os.environ, "BENCH_MASTER": f"{master_addr}:5557", "BENCH_BIN": bench}
        worker = subprocess.Popen(
            [*netns, worker_ns, str(RECIPE / "start-worker.sh")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        procs.append(worker)
        out, _ = master.communicate(timeout=120)
        worker_out, _ = worker.communicate(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode in (0, 3), out.decode(errors="replace")
    assert worker.returncode == 0, worker_out.decode(errors="replace")[-2000:]
    run_dir = next((tmp_path / "reports").iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["workers"]["finals_received"] == 1
    assert meta["host"] == f"http://{master_addr}:8080"
    assert json.loads((run_dir / "summary.json").read_text())["total"]["count"] > 20
