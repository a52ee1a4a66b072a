"""Every top-level ``bench`` command, in the order ``bench --help`` lists them.

Importing a command module must stay cheap: no locust, pandas or matplotlib at
module level (they are imported inside the command bodies).
"""

from __future__ import annotations

import click

from dhakacart_bench.cli.distributed import master, worker
from dhakacart_bench.cli.gate import baseline_group, gate_command
from dhakacart_bench.cli.report import compare, plan, report
from dhakacart_bench.cli.run import run
from dhakacart_bench.cli.scenarios import list_command, validate_command
from dhakacart_bench.cli.store import store

ALL: list[click.Command] = [
    run,
    list_command,
    validate_command,
    report,
    compare,
    plan,
    gate_command,
    baseline_group,
    master,
    worker,
    store,
]
