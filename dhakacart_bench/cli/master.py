"""``bench master``: run a scenario as the master of workers on other machines.

Locust's master/worker channel (ZeroMQ) is unauthenticated: run it on a private
network only. The master binds to 127.0.0.1 unless ``--bind`` says otherwise.
"""

from __future__ import annotations

from typing import Any

import click

from dhakacart_bench.cli.options import run_options, setting_option
from dhakacart_bench.cli.run import execute
from dhakacart_bench.measure.engines.base import parse_address


@click.command("master")
@run_options
@click.option(
    "--expect-workers",
    type=click.IntRange(min=1),
    required=True,
    help="Start the load once this many workers have connected.",
)
@setting_option("bind")
def master(expect_workers: int, bind: str, **options: Any) -> None:
    """Run SCENARIO as the master of a distributed run (same report as `bench run`).

    Workers on other machines join with `bench worker --master THIS_HOST:PORT`;
    they fetch the scenario and its locustfile from the master and must run the
    same dhakacart-bench and Locust versions (a mismatch is refused).
    """
    bind_host, bind_port = parse_address(bind)
    execute(options, expect_workers=expect_workers, master_bind=bind_host, master_port=bind_port)
