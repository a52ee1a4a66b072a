"""``python -m target_app {serve,seed,verify}``: the ``bench store`` commands.

The load runner seeds and verifies a store database through this entry point
in a subprocess, so that its own process never imports flask or sqlalchemy.
"""

from __future__ import annotations

from dhakacart_bench.cli.store import store

if __name__ == "__main__":
    store(prog_name="python -m target_app")
