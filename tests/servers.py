"""Small HTTP targets for tests: a handler base that answers JSON, and a server on
127.0.0.1:<free port> in a thread (gevent-patched under pytest: a greenlet).

HTTP/1.0 (one request per connection) on purpose: when a run ends, Locust kills users
mid-request, and geventhttpclient drops the socket a killed greenlet had checked out of
its keep-alive pool without closing it; in-process runs would then raise
ResourceWarnings at garbage collection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler with :meth:`answer` for JSON responses."""

    protocol_version = "HTTP/1.0"

    def answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1:<free port>; yield its URL; stop it afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
