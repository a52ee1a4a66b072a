"""Sizing a run and its process limits."""

from __future__ import annotations

import math

import pytest

from dhakacart_bench.measure.config import RunConfig, sized_scenario
from dhakacart_bench.scenario.lookup import load_scenario


def test_sized_scenario_scales_to_users_and_duration() -> None:
    scenario = load_scenario("flash-sale")
    sized = sized_scenario(RunConfig(scenario=scenario, users=1000, duration_s=15))
    assert sized.load.peak_users == 1000
    assert sized.load.duration_s == pytest.approx(15)
    assert sized.store.deal_opens_at_s == pytest.approx(60 * 15 / 150)
    default = sized_scenario(RunConfig(scenario=scenario))
    assert default.load.peak_users == scenario.load.default_users


def test_a_run_too_big_for_one_process_is_refused_with_advice() -> None:
    import resource

    from dhakacart_bench.errors import UsageError
    from dhakacart_bench.measure.limits import RESERVED_FILES, check_sockets_per_process

    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1] - RESERVED_FILES
    scenario = load_scenario("smoke")
    with pytest.raises(UsageError, match=r"use --workers 3 or more"):
        check_sockets_per_process(2 * limit + 1, RunConfig(scenario=scenario))
    check_sockets_per_process(2 * limit, RunConfig(scenario=scenario, workers=2))
    # remote workers judge their own limits
    check_sockets_per_process(10 * limit, RunConfig(scenario=scenario, expect_workers=1))


@pytest.mark.parametrize(
    ("users", "cores", "per_process", "workers"),
    [
        (500, 1, 19_488, 0),  # one core, every socket fits: one process, no master
        (500, 2, 19_488, 2),  # more cores: one worker per core
        (20_000, 2, 19_488, 2),
        (100_000, 2, 19_488, 6),  # this machine's limit: the fewest that hold 100,000
        (100_000, 2, 1_048_064, 2),  # a higher limit: fewer processes
        (100_000, 8, 19_488, 8),
        (100_000, 1, 1_048_064, 0),
    ],
)
def test_workers_auto_is_one_per_core_or_the_fewest_the_open_files_limit_allows(
    users: int, cores: int, per_process: int, workers: int
) -> None:
    from dhakacart_bench.measure.limits import auto_workers

    chosen = auto_workers(users, cores=cores, per_process=per_process)
    assert chosen == workers
    assert math.ceil(users / max(1, chosen)) <= per_process  # every process's sockets fit


def test_workers_auto_is_resolved_for_this_machine_and_a_count_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import resource

    from dhakacart_bench.measure.limits import AUTO_WORKERS, RESERVED_FILES, resolve_workers

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 10_000 + RESERVED_FILES))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    scenario = load_scenario("smoke")
    auto = RunConfig(scenario=scenario, workers=AUTO_WORKERS)
    assert resolve_workers(35_000, auto).workers == 4
    assert resolve_workers(100, auto).workers == 2
    assert resolve_workers(35_000, RunConfig(scenario=scenario, workers=0)).workers == 0


def test_workers_flag_takes_a_count_or_auto() -> None:
    import click

    from dhakacart_bench.cli.options import WorkersType
    from dhakacart_bench.measure.limits import AUTO_WORKERS

    kind = WorkersType()
    assert kind.convert("auto", None, None) == AUTO_WORKERS
    assert kind.convert(" AUTO ", None, None) == AUTO_WORKERS
    assert kind.convert("3", None, None) == 3
    assert kind.convert(0, None, None) == 0
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(click.BadParameter):
            kind.convert(bad, None, None)


def big_spec_workers() -> int:
    return load_scenario("flash-sale").store.workers


@pytest.mark.parametrize("open_files", [1_048_576, 20_000, 4_096])
def test_large_runs_get_a_store_built_for_many_connections(
    monkeypatch: pytest.MonkeyPatch, open_files: int
) -> None:
    # the machine's open-files limit is injected: the sizing is tested, not this host
    import resource

    from dhakacart_bench.measure import limits, targets
    from dhakacart_bench.measure.targets import store_settings

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, open_files))
    per_process = limits.sockets_per_process()
    assert targets.sockets_per_process() == per_process

    scenario = load_scenario("flash-sale")
    small = store_settings(scenario.scaled(500), RunConfig(scenario=scenario))
    assert (small.worker_class, small.extra_hosts) == ("gthread", ())
    big = store_settings(scenario.scaled(100_000), RunConfig(scenario=scenario, workers=8))
    assert big.worker_class == "gevent"
    assert len(big.extra_hosts) == 7  # one loopback address per local worker
    assert big.workers * big.worker_connections >= 100_000
    # never more sockets per store process than the open-files limit allows
    assert big.workers == max(big_spec_workers(), math.ceil(100_000 / per_process))
    assert big.worker_connections == math.ceil(100_000 / big.workers) + 1000
