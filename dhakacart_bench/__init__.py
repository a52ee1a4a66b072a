"""dhakacart-bench: turn "we hold 100,000 shoppers" into measured evidence.

Importing this package has no side effects: Locust (which monkey-patches gevent),
matplotlib and pandas are imported only inside the functions that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"
