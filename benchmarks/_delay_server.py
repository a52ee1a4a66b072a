"""A target whose response times are known: request i sleeps DELAYS[i % N].

The delays are a fixed log-normal sequence (seed 42, median ~20 ms, clipped to
1..400 ms), so every run sees the same distribution. HTTP/1.1 keep-alive,
one thread per connection. Usage: python _delay_server.py PORT
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

N = 10_000
_rng = random.Random(42)
DELAYS_MS = [min(400.0, max(1.0, _rng.lognormvariate(3.0, 0.8))) for _ in range(N)]
_counter = itertools.count()
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        with _lock:
            i = next(_counter)
        time.sleep(DELAYS_MS[i % N] / 1000.0)
        body = b'{"id": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
