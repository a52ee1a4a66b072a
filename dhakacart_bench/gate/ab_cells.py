"""An arm's seconds as paired-bootstrap cells: from live windows, or from a run folder.

``{endpoint: {second: Cell}}`` with ``"*"`` (every endpoint merged) always present.
Seconds are relative to the run's start (the run folder's convention), so both arms'
cells line up second for second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.stats.blocks import merge_sparse, sparse_counts
from dhakacart_bench.stats.hdr import release_histogram
from dhakacart_bench.stats.paired import Cell

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

    from dhakacart_bench.runfolder.reader import Run
    from dhakacart_bench.runfolder.windows import WindowData

ArmCells = dict[str, dict[int, Cell]]


def _add_second(
    out: ArmCells, second: int, hists: Mapping[str, HdrHistogram], failures: Mapping[str, int]
) -> None:
    parts = []
    fails = 0
    for name, hist in hists.items():
        idx, cnt = sparse_counts(hist)
        release_histogram(hist)
        if not len(cnt):
            continue
        failed = int(failures.get(name, 0))
        out.setdefault(name, {})[second] = Cell(idx, cnt, failed)
        parts.append((idx, cnt))
        fails += failed
    if parts:
        idx, cnt = merge_sparse(parts)
        out.setdefault(TOTAL, {})[second] = Cell(idx, cnt, fails)


class LiveCells:
    """Cells of one arm built from a recorder's closed windows, decoding each window once
    (a window replaced by a late merge is decoded again)."""

    def __init__(self, first_epoch_second: int) -> None:
        self.first = first_epoch_second
        self._seen: dict[int, int] = {}
        self.cells: ArmCells = {TOTAL: {}}

    def update(self, windows: Iterable[WindowData]) -> ArmCells:
        for window in windows:
            if self._seen.get(window.epoch_second) == id(window):
                continue
            self._seen[window.epoch_second] = id(window)
            second = window.epoch_second - self.first
            for per_endpoint in self.cells.values():
                per_endpoint.pop(second, None)
            names = [n for n, ew in window.endpoints.items() if ew.requests]
            _add_second(
                self.cells,
                second,
                {n: window.endpoints[n].histogram() for n in names},
                {n: window.endpoints[n].failures for n in names},
            )
        return self.cells


def cells_of_run(run: Run) -> ArmCells:
    """Cells of one arm's run folder (windows.jsonl + endpoint_timeseries.csv failures)."""
    failures: dict[int, dict[str, int]] = {}
    frame = run.endpoint_timeseries()
    for second, name, failed in zip(
        frame["second"], frame["endpoint"], frame["failures"], strict=True
    ):
        if failed:
            failures.setdefault(int(second), {})[str(name)] = int(failed)
    out: ArmCells = {TOTAL: {}}
    for second, hists in run.iter_windows():
        _add_second(out, second, hists, failures.get(second, {}))
    return out


def upto(cells: ArmCells, last_second: int) -> ArmCells:
    """Only the seconds up to and including ``last_second``."""
    return {e: {s: c for s, c in by.items() if s <= last_second} for e, by in cells.items()}
