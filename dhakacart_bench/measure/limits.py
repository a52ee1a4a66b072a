"""Process limits of a load generator: one connected user holds one socket.

:func:`check_sockets_per_process` refuses a run whose processes would need more sockets
than the open-files limit allows, and says how many ``--workers`` it needs;
:func:`auto_workers` is ``--workers auto``: one worker per core, more only when the
open-files limit needs them, so a machine with a higher limit runs fewer processes
(each costs ~50 MiB of base memory and ~14 ms of CPU a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dhakacart_bench.errors import UsageError

if TYPE_CHECKING:
    from dhakacart_bench.measure.config import RunConfig


#: Sockets a load process keeps for itself (logs, the master channel, DNS, ...).
RESERVED_FILES = 512

#: ``--workers auto`` as RunConfig holds it until :func:`resolve_workers` sizes it.
AUTO_WORKERS = -1


def sockets_per_process() -> int:
    """How many connections one process of ours may hold: its hard open-files limit, less ours."""
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1] - RESERVED_FILES


def auto_workers(peak_users: int, *, cores: int, per_process: int) -> int:
    """``--workers auto`` for ``peak_users``: 0 (one process, no master) on one core when
    that process's sockets hold every user; otherwise one worker per core, or more when
    ``per_process`` sockets each need more (the fewest that hold them all)."""
    import math

    needed = math.ceil(peak_users / max(1, per_process))
    if cores <= 1 and needed <= 1:
        return 0
    return max(cores, needed)


def resolve_workers(peak_users: int, config: RunConfig) -> RunConfig:
    """``config`` with ``--workers auto`` turned into a count for this machine (else as is)."""
    import dataclasses
    import os

    if config.workers != AUTO_WORKERS:
        return config
    workers = auto_workers(
        peak_users,
        cores=len(os.sched_getaffinity(0)) or 1,
        per_process=sockets_per_process(),
    )
    return dataclasses.replace(config, workers=workers)


def check_sockets_per_process(peak_users: int, config: RunConfig) -> None:
    """Refuse a run whose local load processes would each need more sockets than allowed.

    One user holds one connection; one process may open at most its hard
    open-files limit. Remote workers (``bench master``) judge their own limits.
    """
    import math

    if config.expect_workers:
        return
    processes = max(1, config.workers)
    per_process = math.ceil(peak_users / processes)
    limit = sockets_per_process()
    if per_process > limit:
        needed = math.ceil(peak_users / limit)
        raise UsageError(
            f"{peak_users:,} users in {processes} load process(es) means {per_process:,}"
            f" sockets each, above this machine's open-files limit"
            f" ({limit + RESERVED_FILES:,}); use --workers {needed} or more"
            " (--workers auto picks the fewest for this machine)"
        )


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to the hard one; return the new limit.

    A load process holds one socket per connected user.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return int(hard)
