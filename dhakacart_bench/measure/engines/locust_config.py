"""Locust's own configuration, read by Locust's own parser (``locust.argument_parser``).

Locust reads ``~/.locust.conf``, ``./locust.conf``, ``[tool.locust]`` in
``./pyproject.toml``, a ``--config`` file and ``LOCUST_*`` environment variables
(command line > environment > config file > default). :func:`read_locust_config` runs
Locust's parser (configargparse) with no command-line arguments and keeps what differs
from Locust's defaults: the options bench supports become values for ``bench run -f``;
every other one set there is named (bench does not silently ignore it).
"""

from __future__ import annotations

import locust  # noqa: F401  # first: it patches gevent, before anything imports ssl

# isort: split
import contextlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locust import argument_parser

from dhakacart_bench.errors import UsageError

#: Locust option (its argparse ``dest``) → what ``bench run -f`` calls it.
SUPPORTED: Mapping[str, str] = {
    "locustfile": "locustfile",
    "user_classes": "user_classes",
    "num_users": "users",
    "spawn_rate": "spawn_rate",
    "run_time": "run_time",
    "host": "host",
    "stop_timeout": "stop_timeout",
}
#: Options that only say "run without the web UI" or choose what Locust prints: bench
#: always runs headless and prints its own summary, so they change nothing.
NO_EFFECT = frozenset({"headless", "autostart", "only_summary", "print_stats", "loglevel"})


@dataclass(frozen=True)
class LocustConfig:
    """What Locust's config files and environment set: values, sources, the unsupported."""

    values: Mapping[str, Any]
    sources: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """Lines for the run's output: what was read, and what bench does not support."""
        lines = []
        if self.values:
            read = ", ".join(f"{k}={v}" for k, v in self.values.items())
            lines.append(f"Locust config ({', '.join(self.sources)}): {read}")
        if self.unsupported:
            lines.append(
                f"Locust config ({', '.join(self.sources)}): not supported by bench, no effect:"
                f" {', '.join(self.unsupported)}"
            )
        return lines


def _flag_of(parser: Any, dest: str) -> str:
    for action in parser._actions:
        if action.dest == dest and action.option_strings:
            return str(max(action.option_strings, key=len))
    return dest


def read_locust_config(
    config_file: Path | None = None, *, env: Mapping[str, str] | None = None
) -> LocustConfig:
    """Locust's config files (and ``--config FILE``) and ``LOCUST_*`` variables, parsed by
    Locust; relative file names are looked up in the current directory, as Locust does."""
    env = dict(os.environ if env is None else env)
    args = ["--config", str(config_file)] if config_file is not None else []
    if config_file is not None and not config_file.is_file():
        raise UsageError(f"--config {config_file}: no such file")
    parser = argument_parser.get_parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parsed, unknown = parser.parse_known_args(args=args, env_vars=env)
    except SystemExit:
        raise UsageError(
            f"Locust's config did not parse: {stderr.getvalue().strip().splitlines()[-1:]}"
        ) from None
    base = argument_parser.get_empty_argument_parser(default_config_files=[])
    argument_parser.setup_parser_arguments(base)
    defaults = vars(base.parse_known_args(args=[], env_vars={})[0])
    sources = tuple(
        source.split("|", 1)[1] if "|" in source else source.replace("_", " ")
        for source in parser.get_source_to_settings_dict()
        if source not in ("command_line", "defaults")
    )
    values: dict[str, Any] = {}
    unsupported: list[str] = [str(u).split("=", 1)[0] for u in unknown]
    for dest, value in vars(parsed).items():
        if dest == "config" or value == defaults.get(dest):
            continue
        if dest in SUPPORTED:
            values[SUPPORTED[dest]] = value
        elif dest not in NO_EFFECT:
            unsupported.append(_flag_of(parser, dest))
    return LocustConfig(values=values, sources=sources, unsupported=tuple(unsupported))
