"""The ``bench`` command line: a thin click layer over the core, one module per command.

Each command parses options (generated from :mod:`dhakacart_bench.settings`), builds
plain config objects, calls the core and prints; it is wired here with
``add_command`` in the order ``bench --help`` lists them.
:class:`~dhakacart_bench.errors.BenchError` becomes a one-line message and the exit
code from DESIGN.md (:class:`~dhakacart_bench.cli.group.BenchGroup`). Nothing heavy
(locust, matplotlib, pandas) is imported at start-up, so ``bench --help`` is instant.
"""

from __future__ import annotations

import click

from dhakacart_bench import __version__
from dhakacart_bench.cli.baseline import baseline_group
from dhakacart_bench.cli.calibrate import calibrate_command
from dhakacart_bench.cli.capacity import capacity
from dhakacart_bench.cli.compare import compare
from dhakacart_bench.cli.gate import gate_command
from dhakacart_bench.cli.group import BenchGroup
from dhakacart_bench.cli.init import init_command
from dhakacart_bench.cli.list import list_command
from dhakacart_bench.cli.master import master
from dhakacart_bench.cli.plan import plan
from dhakacart_bench.cli.report import report
from dhakacart_bench.cli.run import run
from dhakacart_bench.cli.store import store
from dhakacart_bench.cli.validate import validate_command
from dhakacart_bench.cli.worker import worker

#: Every top-level command, in the order ``bench --help`` lists them.
COMMANDS: tuple[click.Command, ...] = (
    run,
    list_command,
    validate_command,
    init_command,
    report,
    compare,
    capacity,
    plan,
    gate_command,
    calibrate_command,
    baseline_group,
    master,
    worker,
    store,
)


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bench")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the traceback under an error message too (also: BENCH_DEBUG=1).",
)
def main(debug: bool) -> None:
    """dhakacart-bench: load and reliability tests with exact metrics.

    Run a scenario against the bundled reference store (or any --host),
    get a run folder with exact HDR percentiles and an HTML report.
    """


for _command in COMMANDS:
    main.add_command(_command)
