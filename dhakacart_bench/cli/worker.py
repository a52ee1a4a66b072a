"""Worker."""

from __future__ import annotations

import sys

import click

from dhakacart_bench.measure.engines.base import parse_address


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
    from dhakacart_bench.measure.engines.worker import run_worker  # imports locust: only here

    master_host, master_port = parse_address(master_address)
    sys.exit(
        run_worker(master_host, master_port, host_override=host, connect_timeout=connect_timeout)
    )
