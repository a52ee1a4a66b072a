"""Every top-level ``bench`` command, in the order ``bench --help`` lists them."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
