"""A run's windows cut into blocks, the unit that the bootstraps resample.

Shared by the deploy gate's regression rule and by ``bench compare``: both judge a
change only when it is larger than the run-to-run noise, measured by resampling blocks
of consecutive seconds (:mod:`dhakacart_bench.stats.blocks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dhakacart_bench.errors import RunFolderError
from dhakacart_bench.runfolder.layout import TOTAL, WINDOWS_JSONL
from dhakacart_bench.stats.blocks import MAX_BLOCKS, SparseBlocks, blocks_of_windows

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.reader import Run


def run_blocks(
    run: Run, endpoints: Iterable[str], *, max_blocks: int = MAX_BLOCKS
) -> dict[str, SparseBlocks]:
    """Cut the run's windows.jsonl into blocks, per endpoint (``"*"`` = all together);
    see :func:`~dhakacart_bench.stats.blocks.blocks_of_windows`."""
    try:
        return blocks_of_windows(run.iter_windows(), endpoints, max_blocks=max_blocks, total=TOTAL)
    except ValueError as exc:
        raise RunFolderError(f"{run.path / WINDOWS_JSONL}: {exc}") from None
