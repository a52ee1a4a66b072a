"""Engine pieces that need no running load: addresses, worker accounting, losses."""

from __future__ import annotations

import pytest

from dhakacart_bench.errors import UsageError
from dhakacart_bench.measure.engines.base import parse_address
from dhakacart_bench.measure.engines.master import MasterCoordinator, judge_losses
from dhakacart_bench.runfolder.meta import WorkerLoss
from dhakacart_bench.scenario.lookup import load_scenario


def test_losses_are_judged_against_the_shape() -> None:
    scenario = load_scenario("smoke")
    load = scenario.load
    peak = load.peak_users
    users = dict.fromkeys(range(30), peak)
    users.update({8: peak // 2, 9: peak // 2, 10: peak // 2 + 1})
    judged = judge_losses(
        [WorkerLoss(worker="w", lost_at_s=8, users_held=5, how="missed heartbeats")],
        users,
        load,
    )
    assert judged[0].restored_after_s == 3
    never = judge_losses(
        [WorkerLoss(worker="w", lost_at_s=6, users_held=5, how="disconnected")],
        dict.fromkeys(range(30), load.peak_users // 2),
        load,
    )
    assert never[0].restored_after_s is None  # still missing when the shape ended


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.5", ("10.0.0.5", 5557)), ("master:6000", ("master", 6000))],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


def test_parse_address_rejects_a_bad_port() -> None:
    with pytest.raises(UsageError, match="HOST"):
        parse_address("master:http")


def test_users_are_the_sum_of_what_the_workers_ran() -> None:
    coordinator = MasterCoordinator.__new__(MasterCoordinator)
    coordinator.run_start = 1000.0
    coordinator.samples = {
        # worker a: 3 users from second 1, 5 from second 4 (carried over the gap at 3)
        "a": [(1001, 10.0, 1.0, 3), (1002, 10.0, 1.0, 3), (1004, 10.0, 1.0, 5)],
        # worker b: 2 users at seconds 1-2, then lost (no more samples)
        "b": [(1001, 10.0, 1.0, 2), (1002, 10.0, 1.0, 2)],
    }
    assert coordinator.users_by_second() == {1: 5, 2: 5, 3: 3, 4: 5}
