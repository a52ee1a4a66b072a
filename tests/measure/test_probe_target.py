"""The pre-run check that the target answers HTTP at all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from dhakacart_bench.errors import TargetUnreachable
from dhakacart_bench.measure.targets import probe_target
from tests.servers import serve_in_thread


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/nowhere")
        else:
            self.send_response(500 if self.path == "/broken" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    with serve_in_thread(_Handler) as url:
        yield url


def test_any_status_is_an_answer_and_redirects_are_not_followed(server: str) -> None:
    _Handler.seen.clear()
    probe_target(server)  # 404
    probe_target(server, path="/broken")  # 500
    probe_target(server + "/", path="/moved?x=1")  # to a closed port: not followed
    assert _Handler.seen == ["/", "/broken", "/moved?x=1"]


def test_nobody_listening_or_no_such_host_is_unreachable(refused_port: int) -> None:
    for host in (f"http://127.0.0.1:{refused_port}", "http://no-such-host.invalid", "http://[::1"):
        with pytest.raises(TargetUnreachable, match="did not answer"):
            probe_target(host, timeout=2)


def test_the_check_leaves_httpx_unloaded() -> None:
    code = (
        "import sys\n"
        "from dhakacart_bench.measure.targets import probe_target\n"
        "try:\n"
        "    probe_target('http://127.0.0.1:1', timeout=1)\n"
        "except Exception:\n"
        "    pass\n"
        "print('httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False", out.stderr
