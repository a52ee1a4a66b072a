"""The one exception tree of dhakacart-bench.

Every error a user can cause or meet derives from :class:`BenchError`; its
``exit_code`` is what the CLI exits with (see DESIGN.md)::

    BenchError
    ├── UsageError              exit 2: bad usage or invalid input file
    │   ├── ScenarioError           a scenario file is missing or invalid (names file + key)
    │   ├── RunFolderError          a run folder is missing, incomplete or of an unknown format
    │   └── BaselineError           a baseline file is invalid or does not match the run
    └── RunError                exit 3: the run could not be carried out
        ├── TargetUnreachable       the target did not answer (or never became ready)
        ├── StoreError              the bundled store could not be started, seeded or stopped
        ├── WorkersMissing          distributed workers did not connect / were lost
        └── Interrupted             stopped by Ctrl-C / SIGTERM (results so far are kept)

Only the CLI turns these into messages and exit codes; an unexpected exception
(a bug) is not caught and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_RUN_ERROR = 3


class BenchError(Exception):
    """Base of every error dhakacart-bench raises on purpose."""

    exit_code = EXIT_RUN_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(BenchError):
    """Bad usage or an invalid input file (exit 2)."""

    exit_code = EXIT_USAGE


class ScenarioError(UsageError):
    """A scenario file is missing or invalid.

    ``path`` and ``key`` say where; the message says what was expected.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        where = ""
        if path:
            where = f"{path}: "
        if key:
            where += f"[{key}] "
        super().__init__(f"{where}{message}")
        self.path = path
        self.key = key


class RunFolderError(UsageError):
    """A run folder is missing, incomplete or written in an unknown format."""


class BaselineError(UsageError):
    """A baseline file is invalid, of another format or of another scenario."""


class RunError(BenchError):
    """The run could not be carried out (exit 3)."""

    exit_code = EXIT_RUN_ERROR


class TargetUnreachable(RunError):
    """The target host did not answer, or did not become ready in time."""


class StoreError(RunError):
    """The bundled reference store could not be started, seeded or stopped."""


class WorkersMissing(RunError):
    """Distributed workers did not connect in time, or too many were lost."""


class Interrupted(RunError):
    """The run was stopped by Ctrl-C or SIGTERM; what was measured is kept."""
