"""``bench master`` and ``bench worker``: one run spread over several machines.

Locust's master/worker channel (ZeroMQ) is unauthenticated: run it on a private
network only. The master binds to 127.0.0.1 unless ``--bind`` says otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dhakacart_bench.cli.run import execute, run_options


@click.command("master")
@run_options
@click.option(
    "--expect-workers",
    type=click.IntRange(min=1),
    required=True,
    help="Start the load once this many workers have connected.",
)
@click.option(
    "--bind",
    default="127.0.0.1:5557",
    show_default=True,
    help="HOST:PORT the master listens on for workers (private network only).",
)
@click.option(
    "--worker-timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the workers to connect.",
)
def master(expect_workers: int, bind: str, worker_timeout: float, **options: Any) -> None:
    """Run SCENARIO as the master of a distributed run (same report as `bench run`).

    Workers on other machines join with `bench worker --master THIS_HOST:PORT`;
    they fetch the scenario and its locustfile from the master and must run the
    same dhakacart-bench and Locust versions (a mismatch is refused).
    """
    from dhakacart_bench.distributed import parse_address

    bind_host, bind_port = parse_address(bind)
    execute(
        options,
        expect_workers=expect_workers,
        master_bind=bind_host,
        master_port=bind_port,
        worker_timeout_s=worker_timeout,
    )


@click.command("worker")
@click.option("--master", "master_address", required=True, help="The master's HOST[:PORT].")
@click.option("--host", help="Aim this worker's users at this URL instead of the master's target.")
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to keep trying to reach the master.",
)
def worker(master_address: str, host: str | None, connect_timeout: float) -> None:
    """Generate load for a master started with `bench master` (or `bench run --workers`)."""
    from dhakacart_bench.distributed import parse_address, run_worker

    master_host, master_port = parse_address(master_address)
    sys.exit(
        run_worker(master_host, master_port, host_override=host, connect_timeout=connect_timeout)
    )
