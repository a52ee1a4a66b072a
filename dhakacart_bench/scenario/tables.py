"""Validating TOML tables: a :class:`Table` knows its file and dotted key, so every error
says where it is and what was expected (with a "did you mean" for unknown keys).
Booleans are not numbers.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from dhakacart_bench.errors import ScenarioError
from dhakacart_bench.humanize import parse_duration

MISSING: Any = object()
T = TypeVar("T")


def show(value: object) -> str:
    """A TOML value as the user wrote it, for error messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 60 else "an array"
    return f"{value!r} (a {type(value).__name__})"


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Table:
    """One TOML table being validated: knows its file and dotted prefix."""

    def __init__(
        self, data: Mapping[str, Any], *, path: str, prefix: str, allowed: Sequence[str]
    ) -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        for key in data:
            if key not in allowed:
                self.fail(
                    key,
                    f'unknown key "{key}"{suggest(key, allowed)}; '
                    f"expected one of: {', '.join(allowed)}",
                )

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str | None, message: str) -> NoReturn:
        key = self.key(name) if name else (self.prefix or None)
        raise ScenarioError(message, path=self.path, key=key)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, default: Any, expected: str) -> Any:
        if name in self.data:
            return self.data[name]
        if default is MISSING:
            self.fail(name, f"missing required key (expected {expected})")
        return default

    def string(self, name: str, default: Any = MISSING) -> Any:
        value = self._get(name, default, "a string")
        if value is not default and not isinstance(value, str):
            self.fail(name, f"expected a string, got {show(value)}")
        return value

    def boolean(self, name: str, default: Any = MISSING) -> Any:
        value = self._get(name, default, "true or false")
        if value is not default and not isinstance(value, bool):
            self.fail(name, f"expected true or false, got {show(value)}")
        return value

    def integer(self, name: str, default: Any = MISSING, *, minimum: int = 1) -> Any:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(name, f"expected {expected}, got {show(value)}")
        return value

    def number(
        self,
        name: str,
        default: Any = MISSING,
        *,
        positive: bool = False,
        at_most: float | None = None,
    ) -> Any:
        expected = "a positive number" if positive else "a number >= 0"
        if at_most is not None:
            expected = f"a number from 0 to {at_most:g}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        ok = is_number(value) and math.isfinite(value)
        ok = ok and (value > 0 if positive else value >= 0)
        ok = ok and (at_most is None or value <= at_most)
        if not ok:
            self.fail(name, f"expected {expected}, got {show(value)}")
        return float(value)

    def duration(self, name: str, default: Any = MISSING, *, positive: bool = True) -> Any:
        value = self._get(name, default, "a duration")
        if value is default:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(name, str(exc))
        if positive and seconds <= 0:
            self.fail(name, f"expected a duration longer than zero, got {show(value)}")
        return seconds

    def choice(self, name: str, choices: Sequence[str], default: Any = MISSING) -> Any:
        quoted = [f'"{c}"' for c in choices]
        expected = " or ".join(quoted) if len(quoted) <= 2 else f"one of {', '.join(quoted)}"
        value = self._get(name, default, expected)
        if value is default:
            return value
        if not isinstance(value, str) or value not in choices:
            hint = suggest(value, choices) if isinstance(value, str) else ""
            self.fail(name, f"expected {expected}, got {show(value)}{hint}")
        return value

    def table(self, name: str, allowed: Sequence[str]) -> Table:
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            self.fail(name, f"expected a table ([{self.key(name)}]), got {show(value)}")
        return Table(value, path=self.path, prefix=self.key(name), allowed=allowed)

    def tables(
        self, name: str, allowed: Sequence[str], *, required: bool, expected: str
    ) -> list[Table]:
        """An array of tables (``[[name]]``); each item validated against ``allowed``."""
        header = f"[[{self.key(name)}]]"
        if name not in self.data:
            if required:
                self.fail(name, f"missing required {header} (expected at least one {expected})")
            return []
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            self.fail(name, f"expected an array of tables ({header}), got {show(value)}")
        if required and not value:
            self.fail(name, f"expected at least one {expected}, got none")
        return [
            Table(item, path=self.path, prefix=f"{self.key(name)}[{i}]", allowed=allowed)
            for i, item in enumerate(value)
        ]
