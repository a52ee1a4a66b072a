"""The bundled shoppers with a short think time, for the proposed CI smoke gate.

Same journeys and request names as ``locustfiles/shoppers.py`` (Browser, Buyer);
only ``wait_time`` is shorter (0.2-1 s instead of 1-5 s), so a 25-second smoke
run makes several hundred requests: enough for a p95 per main endpoint.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from locust import between

_PATH = Path(__file__).resolve().parents[2] / "locustfiles" / "shoppers.py"
_NAME = "bench_gate_shoppers_base"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    assert _spec is not None and _spec.loader is not None
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])
_shoppers = sys.modules[_NAME]


class QuickBrowser(_shoppers.Browser):  # type: ignore[name-defined,misc]
    """An anonymous visitor who reads quickly."""

    wait_time = between(0.2, 1.0)


class QuickBuyer(_shoppers.Buyer):  # type: ignore[name-defined,misc]
    """A buyer who reads quickly."""

    wait_time = between(0.2, 1.0)
