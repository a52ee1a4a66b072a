"""The one table of settings: name, default, type, help and environment variable.

Every tunable that a user can set from the command line lives here once. The table
drives the click options (:mod:`dhakacart_bench.cli.options`), the defaults of the
core's config dataclasses (``RunConfig``, the gate's keyword defaults), the environment
variables, and the reference section of the README (:func:`reference_markdown`;
``tests/test_docs.py`` fails when the README and the table drift apart).

Precedence, as click applies it: the command-line flag, then the environment variable,
then the default here. Scenario files (``[gate]``, ``[store]``, ...) set the defaults
of what they describe; a flag overrides the scenario.

Nothing here imports click or the rest of the package: this is the lowest layer.
Regenerate the README section with ``python -m dhakacart_bench.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Kind = str  # "path" | "int" | "workers" | "float" | "percent" | "duration" | "str" | "choice"
#            | "flag"


@dataclass(frozen=True)
class Setting:
    """One setting: its config field ``name``, command-line ``flag`` and ``env`` variable."""

    name: str
    flag: str
    default: Any
    kind: Kind
    help: str
    env: str
    commands: tuple[str, ...]
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def default_text(self) -> str:
        """The default as the reference table shows it."""
        if self.default is None:
            return "—"
        if self.kind == "flag":
            return "off" if not self.default else "on"
        if self.kind == "duration":
            return f"{self.default:g}s"
        if self.kind == "percent":
            return f"{self.default:.0%}"
        return str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "reports_dir",
        "--reports-dir",
        Path("reports"),
        "path",
        "Where run folders are written, and where `latest` looks for them.",
        "BENCH_REPORTS_DIR",
        ("run", "master", "gate", "baseline save", "capacity"),
    ),
    Setting(
        "database_url",
        "--database-url",
        None,
        "str",
        "The store's database (postgresql://... or sqlite:///...). Default: `bench run`"
        " seeds a fresh embedded SQLite file; `bench store` uses ./instance/dhakacart.sqlite3.",
        "DATABASE_URL",
        ("run", "master", "store serve", "store seed", "store verify", "capacity"),
    ),
    Setting(
        "store_workers",
        "--store-workers",
        None,
        "int",
        "Gunicorn workers of the bundled store (default: the scenario's [store] workers).",
        "BENCH_STORE_WORKERS",
        ("run", "master", "capacity"),
        minimum=1,
    ),
    Setting(
        "workers",
        "--workers",
        0,
        "workers",
        "Local Locust worker processes to spread the load over (0: one process; auto: one"
        " per core, more when the open-files limit needs them).",
        "BENCH_WORKERS",
        ("run", "capacity"),
        minimum=0,
    ),
    Setting(
        "stop_timeout_s",
        "--stop-timeout",
        5.0,
        "duration",
        "How long users may take to finish their current task when the run stops.",
        "BENCH_STOP_TIMEOUT",
        ("run", "master", "capacity"),
    ),
    Setting(
        "progress_every_s",
        "--progress-every",
        10.0,
        "duration",
        "Seconds between progress lines when stderr is not a terminal (CI logs).",
        "BENCH_PROGRESS_EVERY",
        ("run", "master", "capacity"),
        minimum=0.5,
    ),
    Setting(
        "busy_cores",
        "--busy-cores",
        0.5,
        "float",
        "The noisy-neighbour check: a second in which other processes (not the generator,"
        " not the target) used at least this many cores is a busy second; 20% busy seconds"
        " make the machine busy and its latency rules inconclusive.",
        "BENCH_BUSY_CORES",
        ("run", "master"),
        minimum=0.01,
    ),
    Setting(
        "bind",
        "--bind",
        "127.0.0.1:5557",
        "str",
        "HOST:PORT the master listens on for workers (Locust's channel is"
        " unauthenticated: a private network only).",
        "BENCH_MASTER_BIND",
        ("master",),
    ),
    Setting(
        "worker_timeout_s",
        "--worker-timeout",
        120.0,
        "duration",
        "How long the master waits for its workers to connect.",
        "BENCH_WORKER_TIMEOUT",
        ("run", "master", "capacity"),
    ),
    Setting(
        "heartbeat_liveness",
        "--heartbeat-liveness",
        30,
        "int",
        "Distributed runs: heartbeats (1 s apart) a worker may miss before the master"
        " gives up on it (Locust's HEARTBEAT_LIVENESS, 3); a worker given up on stops its users.",
        "BENCH_HEARTBEAT_LIVENESS",
        ("run", "master"),
        minimum=1,
    ),
    Setting(
        "connect_timeout_s",
        "--connect-timeout",
        60.0,
        "duration",
        "How long a worker keeps trying to reach its master.",
        "BENCH_CONNECT_TIMEOUT",
        ("worker",),
    ),
    Setting(
        "p95_regression_pct",
        "--p95-regression-pct",
        None,
        "float",
        "The p95 regression the gate tolerates, in percent (default: the scenario's"
        " [gate] p95_regression_pct).",
        "BENCH_P95_REGRESSION_PCT",
        ("gate", "run"),
        minimum=0,
    ),
    Setting(
        "min_endpoint_requests",
        "--min-endpoint-requests",
        50,
        "int",
        "Fewer requests to an endpoint in either run: its regression rule has insufficient data.",
        "BENCH_MIN_ENDPOINT_REQUESTS",
        ("gate",),
        minimum=0,
    ),
    Setting(
        "insufficient_data",
        "--insufficient-data",
        "skip",
        "choice",
        "What a regression rule with insufficient data does: skip it, or fail it.",
        "BENCH_INSUFFICIENT_DATA",
        ("gate",),
        choices=("skip", "fail"),
    ),
    Setting(
        "resamples",
        "--resamples",
        1000,
        "int",
        "Bootstrap resamples behind each regression interval.",
        "BENCH_RESAMPLES",
        ("gate",),
        minimum=100,
    ),
    Setting(
        "confidence",
        "--confidence",
        0.90,
        "float",
        "Two-sided coverage of the gate's intervals (0.90: the lower bound is one-sided 95%).",
        "BENCH_CONFIDENCE",
        ("gate",),
        minimum=0.5,
    ),
    # the paired A/B gate (`bench run SCENARIO --against BASELINE --gate`, docs/gate.md)
    Setting(
        "max_duration_s",
        "--max-duration",
        None,
        "duration",
        "A/B runs: the time budget; unresolved by then, the comparison passes as not"
        " significant (default: the scenario's length; a longer budget holds the load"
        " at its last level).",
        "BENCH_MAX_DURATION",
        ("run",),
    ),
    Setting(
        "ab_min_s",
        "--ab-min-seconds",
        15.0,
        "duration",
        "A/B runs: seconds of load before the gate's first look.",
        "BENCH_AB_MIN_SECONDS",
        ("run",),
    ),
    Setting(
        "ab_warmup_s",
        "--ab-warmup",
        5.0,
        "duration",
        "A/B runs: seconds at the start the gate does not judge (users ramp, each arm's"
        " target warms up on its own): recorded and reported, not compared.",
        "BENCH_AB_WARMUP",
        ("run",),
    ),
    Setting(
        "ab_min_requests",
        "--ab-min-requests",
        1000,
        "int",
        "A/B runs: requests each arm needs before the gate's first look.",
        "BENCH_AB_MIN_REQUESTS",
        ("run",),
        minimum=1,
    ),
    Setting(
        "ab_look_every_s",
        "--ab-look-every",
        5.0,
        "duration",
        "A/B runs: seconds between the gate's looks.",
        "BENCH_AB_LOOK_EVERY",
        ("run",),
    ),
    Setting(
        "ab_alpha",
        "--ab-alpha",
        0.05,
        "float",
        "A/B runs: the error budget spent over every planned look and rule:"
        " a false FAIL has at most half this chance per run.",
        "BENCH_AB_ALPHA",
        ("run",),
        minimum=0.0001,
    ),
    Setting(
        "ab_spending",
        "--ab-spending",
        "hsd",
        "choice",
        "A/B runs: how alpha is spent over the looks: hsd (group-sequential,"
        " Hwang-Shih-DeCani gamma -2: exact, narrower late looks) or bonferroni"
        " (alpha / looks each: conservative).",
        "BENCH_AB_SPENDING",
        ("run",),
        choices=("hsd", "bonferroni"),
    ),
    Setting(
        "ab_instance_spread_pct",
        "--instance-spread",
        None,
        "float",
        "A/B runs: how far two identical instances' p95s differ for a whole run, in percent"
        " (from A/A runs: `bench calibrate`), added to every p95 interval (default: the"
        " scenario's [gate] ab_instance_spread_pct, else 0).",
        "BENCH_AB_INSTANCE_SPREAD",
        ("run", "gate"),
        minimum=0,
    ),
    Setting(
        "ab_reconnect_every",
        "--ab-reconnect-every",
        None,
        "int",
        "A/B runs: each user reconnects after every N requests, re-drawing how each arm's"
        " connections split over its server's workers (0: never; default: the"
        " scenario's [gate] ab_reconnect_every, else 0).",
        "BENCH_AB_RECONNECT_EVERY",
        ("run",),
        minimum=0,
    ),
    Setting(
        "ab_error_margin_pct",
        "--ab-error-margin",
        1.0,
        "float",
        "A/B runs: the error-rate increase (percentage points) the gate tolerates.",
        "BENCH_AB_ERROR_MARGIN",
        ("run",),
        minimum=0,
    ),
    Setting(
        "ab_resamples",
        "--ab-resamples",
        400,
        "int",
        "A/B runs: paired-bootstrap resamples behind each look's standard error.",
        "BENCH_AB_RESAMPLES",
        ("run",),
        minimum=50,
    ),
    Setting(
        "budget_s",
        "--budget",
        300.0,
        "duration",
        "the most time the search may take; when it ends, the bracket so far.",
        "BENCH_CAPACITY_BUDGET",
        ("capacity",),
    ),
    Setting(
        "resolution",
        "--resolution",
        0.05,
        "percent",
        "bisect until the first bad level is within this of the last good one.",
        "BENCH_CAPACITY_RESOLUTION",
        ("capacity",),
        minimum=0.01,
    ),
    Setting(
        "start_rate",
        "--start-rate",
        20.0,
        "float",
        "arrivals/s of the first level (each level after it multiplies by"
        " --step-factor until an SLO breaks).",
        "BENCH_CAPACITY_START_RATE",
        ("capacity",),
        minimum=0.1,
    ),
    Setting(
        "step_factor",
        "--step-factor",
        2.0,
        "float",
        "the geometric step of the search's step-up.",
        "BENCH_CAPACITY_STEP_FACTOR",
        ("capacity",),
        minimum=1.1,
    ),
    Setting(
        "level_warmup_s",
        "--level-warmup",
        4.0,
        "duration",
        "seconds at the start of each level that are discarded (pool filling).",
        "BENCH_CAPACITY_LEVEL_WARMUP",
        ("capacity",),
    ),
    Setting(
        "level_min_s",
        "--level-min",
        8.0,
        "duration",
        "seconds each level is held after its warm-up, at least.",
        "BENCH_CAPACITY_LEVEL_MIN",
        ("capacity",),
    ),
    Setting(
        "level_min_requests",
        "--level-min-requests",
        200,
        "int",
        "requests each level completes after its warm-up, at least (a"
        " slow level is held longer, up to 4x --level-min).",
        "BENCH_CAPACITY_LEVEL_MIN_REQUESTS",
        ("capacity",),
        minimum=10,
    ),
    Setting(
        "max_pool",
        "--max-pool",
        5000,
        "int",
        "the most open-model users a level may have (sized by Little's law).",
        "BENCH_CAPACITY_MAX_POOL",
        ("capacity",),
        minimum=1,
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def setting(name: str) -> Setting:
    """The setting called ``name`` (KeyError naming the known ones otherwise)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no setting {name!r}; known: {', '.join(_BY_NAME)}") from None


def default(name: str) -> Any:
    """The default of setting ``name``."""
    return setting(name).default


START = "<!-- settings: generated by `python -m dhakacart_bench.settings`; do not edit -->"
END = "<!-- /settings -->"


def reference_markdown() -> str:
    """The README's reference table of every setting, between its markers."""
    rows = [
        START,
        "| flag | environment | default | commands | what it sets |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        commands = ", ".join(f"`{c}`" for c in s.commands)
        rows.append(f"| `{s.flag}` | `{s.env}` | {s.default_text} | {commands} | {s.help} |")
    rows.append(END)
    return "\n".join(rows)


if __name__ == "__main__":
    print(reference_markdown())
