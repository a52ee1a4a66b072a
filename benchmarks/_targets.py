"""Targets for benchmarks: a private nginx on a free loopback port.

nginx (Debian package ``nginx-light``) answers every path with a small fixed
JSON body, so it is never the bottleneck and costs the generator nothing to
parse. Started in the foreground in a temporary prefix, stopped by the caller.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NGINX_CONF = """
daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type application/json;
            return 200 '{{"id": 1, "name": "Phone X", "price_cents": 49900, "stock": 10}}';
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def nginx(*, workers: int = 1, cpu: str | None = None) -> Iterator[str]:
    """Run nginx on 127.0.0.1:<free port>; yield its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is needed: apt-get install -y nginx-light")
    prefix = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, workers=workers))
    try:
        with _serve([binary, "-p", str(prefix), "-c", str(conf)], port, cpu=cpu) as url:
            yield url
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@contextmanager
def _serve(cmd: list[str], port: int, *, cpu: str | None) -> Iterator[str]:
    """Start a server process (pinned to ``cpu``), wait until it answers, stop it after."""
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


GEVENT_SERVER = """
from gevent import monkey; monkey.patch_all()
import sys
from gevent.pywsgi import WSGIServer
BODY = b'{"id": 1, "name": "Phone X", "price_cents": 49900, "stock": 10}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None, backlog=4096).serve_forever()
"""


@contextmanager
def static_json(*, cpu: str | None = None) -> Iterator[tuple[str, str]]:
    """nginx if installed, else a gevent WSGI server with the same body; yields (url, kind).

    The gevent server manages ~4,000 req/s on one core here: enough for the
    1,000 req/s of the generator-cost benchmarks, never their bottleneck.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if Path(binary).exists():
        with nginx(cpu=cpu) as url:
            yield url, "nginx"
        return
    import sys

    port = free_port()
    with _serve([sys.executable, "-c", GEVENT_SERVER, str(port)], port, cpu=cpu) as url:
        yield url, "gevent.pywsgi"
