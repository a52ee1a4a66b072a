"""Process trees for the noisy-neighbour check, read cheaply.

Finding the descendants of a process means reading the parent of every process on the
machine (``/proc/*/stat``): ~2-3 ms here, whatever the tree's size. psutil's
``Process.children(recursive=True)`` does that read once per call, so one call per tree
per second was most of :class:`~dhakacart_bench.measure.health.HostMonitor`'s cost.
:func:`descendants` reads the table once for any number of trees, and
:class:`TreeTimes` keeps the trees' members between looks, reading only their CPU times
(~0.04 ms a process) at each sample.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process on the machine (one read of the table)."""
    import psutil

    table: Callable[[], dict[int, int]] | None = getattr(psutil, "_ppid_map", None)
    if table is not None:  # psutil's own one-pass reader (what children() uses)
        return table()
    return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"])}


def descendants(roots: Iterable[int]) -> dict[int, list[Any]]:
    """For each live root pid: ``[root, *its descendants]`` as psutil Processes, from one
    read of the process table. A child started before its parent (a reused pid) is not
    one, as in psutil's ``children()``; a root that is gone is left out."""
    import psutil

    wanted = tuple(dict.fromkeys(roots))
    if not wanted:
        return {}
    below: dict[int, list[int]] = collections.defaultdict(list)
    for pid, ppid in _parents().items():
        below[ppid].append(pid)
    out: dict[int, list[Any]] = {}
    for root_pid in wanted:
        try:
            root = psutil.Process(root_pid)
        except psutil.Error:
            continue
        members, stack, seen = [root], [root], {root_pid}
        while stack:
            parent = stack.pop()
            try:
                born = parent.create_time()
            except psutil.Error:
                continue
            for pid in below.get(parent.pid, ()):
                if pid in seen:
                    continue
                seen.add(pid)
                try:
                    child = psutil.Process(pid)
                    if child.create_time() >= born:
                        members.append(child)
                        stack.append(child)
                except psutil.Error:
                    continue
        out[root_pid] = members
    return out


def cpu_times(processes: Iterable[Any]) -> dict[int, float]:
    """CPU seconds (user + system) so far of each process still running."""
    import psutil

    out: dict[int, float] = {}
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        out[proc.pid] = times.user + times.system
    return out


class TreeTimes:
    """CPU seconds of the processes in the trees under some roots (a ``target_tree`` for
    :class:`~dhakacart_bench.measure.health.HostMonitor`).

    The members are those of the last :meth:`fill` (or, for roots not seen before, of a
    look-up made then); a process born since counts from the next look, with all the
    CPU it used until then. ``lost`` says that a root has exited since it was found (a
    deploy replaced it: time to look for the target again).
    """

    def __init__(self) -> None:
        self._roots: tuple[int, ...] = ()
        self._members: dict[int, list[Any]] = {}
        self.lost = False

    def fill(self, roots: Iterable[int], trees: Mapping[int, list[Any]]) -> None:
        """Take the trees of ``roots`` from a :func:`descendants` look-up made anyway."""
        self._roots = tuple(roots)
        self._members = {root: trees[root] for root in self._roots if root in trees}

    def __call__(self, roots: Iterable[int]) -> dict[int, float]:
        wanted = tuple(roots)
        if wanted != self._roots:
            self.fill(wanted, descendants(wanted))
        out: dict[int, float] = {}
        lost = False
        for root, members in self._members.items():
            times = cpu_times(members)
            lost = lost or root not in times
            out.update(times)
        self.lost = lost or len(self._members) < len(self._roots)
        return out
