"""A noisy neighbour for benchmarks: a bounded busy loop on one core, as another job
on a shared CI runner would be."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def busy_core(busy: bool, seconds: float) -> Iterator[None]:
    """While the block runs, ``timeout SECONDS python3 -c 'while True: pass'`` (if
    ``busy``): bounded by ``timeout`` even if this process dies, stopped after the block."""
    if not busy:
        yield
        return
    hog = subprocess.Popen(["timeout", f"{seconds:g}", "python3", "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.terminate()  # timeout passes SIGTERM on to its child (SIGKILL would not)
        hog.wait()
