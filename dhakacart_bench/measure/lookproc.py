"""The A/B gate's looks in a child process, away from the load generator's event loop.

A look decodes the windows closed since the last one and bootstraps every window so far
(about 15 ms of CPU for the shipped smoke's rules, more on the first look, which also
builds the spending plan). Run in the generator's own process — even on a thread of
gevent's pool — it held the interpreter lock in 5 ms slices, and Locust's event loop
stalled 10-50 ms at every look (event-loop lag p99 2.6 ms with one look per run, 9-18 ms
with one every 5 s, measured): both arms' requests sent then were measured late, which
inflated each arm's tail and the paired interval with it. Here the looker lives in a
``spawn``-ed child process that keeps its own state; each look sends it only the windows
closed since the previous look and waits for its answer without blocking the loop
(:func:`gevent.socket.wait_read` on the pipe).

Import it only after locust (gevent's monkey-patching).
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from gevent.socket import wait_read

from dhakacart_bench.errors import RunError

#: ``looker(t_s, upto_s, candidate_windows, baseline_windows) -> decision or None``
Looker = Callable[[float, int, Sequence[Any], Sequence[Any]], "str | None"]

#: How long a look may take before the run stops waiting for it (seconds).
LOOK_TIMEOUT_S = 120.0


class LookFailed(RunError):
    """The looker process raised, died or did not answer."""


def _serve(requests: Any, answers: Any, looker: Looker) -> None:  # pragma: no cover  (child)
    while True:
        try:
            message = requests.recv()
        except EOFError:
            return
        if message is None:
            return
        try:
            answers.send(("ok", looker(*message)))
        except Exception as exc:  # the parent turns it into LookFailed
            answers.send(("error", f"{type(exc).__name__}: {exc}"))


class LookerProcess:
    """``looker`` (picklable, stateful) called in a child process; use as a context
    manager. Calls take whole window lists, as the looker does, and forward only the
    windows newer than those already sent (a looker must keep what it was sent)."""

    def __init__(self, looker: Looker) -> None:
        self._looker = looker
        self._requests: Any = None
        self._answers: Any = None
        self._process: Any = None
        self._sent: list[int | None] = [None, None]

    def __enter__(self) -> LookerProcess:
        # one-way pipes are os.pipe()s, blocking on both sides (a duplex Pipe would be a
        # socketpair, made non-blocking by gevent's patched socket module)
        context = multiprocessing.get_context("spawn")
        requests_r, self._requests = context.Pipe(duplex=False)
        self._answers, answers_w = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(requests_r, answers_w, self._looker),
            daemon=True,
            name="bench-looks",
        )
        self._process.start()
        requests_r.close()
        answers_w.close()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError):  # the child may be gone already
            self._requests.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._requests.close()
        self._answers.close()
        self._process = None

    def __call__(
        self, t_s: float, upto_s: int, candidate: Sequence[Any], baseline: Sequence[Any]
    ) -> str | None:
        if self._process is None:
            raise LookFailed("the looker process is not running (use LookerProcess as `with`)")
        fresh = []
        for arm, windows in enumerate((candidate, baseline)):
            last = self._sent[arm]
            new = [w for w in windows if last is None or w.epoch_second > last]
            if new:
                self._sent[arm] = new[-1].epoch_second
            fresh.append(new)
        try:
            self._requests.send((t_s, upto_s, fresh[0], fresh[1]))
            wait_read(self._answers.fileno(), timeout=LOOK_TIMEOUT_S)  # the loop runs on
            status, value = self._answers.recv()
        except (EOFError, OSError) as exc:  # a dead child, or wait_read's timeout
            raise LookFailed(f"the gate's look at {t_s:.0f} s got no answer: {exc!r}") from exc
        if status != "ok":
            raise LookFailed(f"the gate's look at {t_s:.0f} s failed: {value}")
        return value
