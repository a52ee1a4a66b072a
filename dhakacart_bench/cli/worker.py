"""``bench worker``: generate load for a master (it fetches the scenario from the master)."""

from __future__ import annotations

import sys

import click

from dhakacart_bench.cli.options import check_host, setting_option
from dhakacart_bench.measure.engines.base import parse_address


@click.command("worker")
@click.option("--master", "master_address", required=True, help="The master's HOST[:PORT].")
@click.option(
    "--host",
    callback=check_host,
    help="Aim this worker's users at this URL instead of the master's target.",
)
@setting_option("connect_timeout_s")
def worker(master_address: str, host: str | None, connect_timeout_s: float) -> None:
    """Generate load for a master started with `bench master` (or `bench run --workers`)."""
    from dhakacart_bench.measure.engines.worker import run_worker  # imports locust: only here

    master_host, master_port = parse_address(master_address)
    sys.exit(
        run_worker(master_host, master_port, host_override=host, connect_timeout=connect_timeout_s)
    )
