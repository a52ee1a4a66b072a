"""``python -m dhakacart_bench`` is ``bench``."""

from __future__ import annotations

from dhakacart_bench.cli import main

if __name__ == "__main__":
    main(prog_name="bench")
