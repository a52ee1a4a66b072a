"""Arm assignment (balanced, random, sticky) and routing of request events per arm."""

from __future__ import annotations

from collections import Counter

from dhakacart_bench.measure.arms import ARM_KEY, ArmAssigner, ArmRecorders, with_arms
from dhakacart_bench.measure.recorder import Recorder

URLS = {"candidate": "http://127.0.0.1:1", "baseline": "http://127.0.0.1:2"}


def test_users_are_balanced_per_class_and_random_in_order() -> None:
    assigner = ArmAssigner(URLS, seed=4)
    browsers = [assigner.assign("Browser") for _ in range(10)]
    buyers = [assigner.assign("Buyer") for _ in range(3)]
    assert Counter(browsers) == {"candidate": 5, "baseline": 5}
    assert abs(buyers.count("candidate") - buyers.count("baseline")) == 1
    orders = {tuple(ArmAssigner(URLS, seed=s).assign("B") for _ in range(2)) for s in range(20)}
    assert len(orders) == 2  # either arm may come first in a pair
    assert assigner.assigned == {"candidate": 7, "baseline": 6} or assigner.assigned == {
        "candidate": 6,
        "baseline": 7,
    }


class FakeUser:
    host = None

    def __init__(self, environment: object = None) -> None:
        self.client_host = self.host  # a real user builds its client from host here

    def context(self) -> dict:
        return {"mine": 1}

    def on_start(self) -> None:
        pass

    def on_stop(self) -> None:
        pass


def test_a_user_keeps_its_arm_host_and_tags_its_requests() -> None:
    assigner = ArmAssigner(URLS, seed=1)
    cls = with_arms(FakeUser, assigner)
    users = [cls() for _ in range(4)]
    for user in users:
        assert user.client_host == URLS[user.bench_arm]
        assert user.context() == {"mine": 1, ARM_KEY: user.bench_arm}
    assert assigner.active == {"candidate": 2, "baseline": 2}
    users[0].on_stop()
    assert sum(assigner.active.values()) == 3


def test_requests_go_to_their_arms_recorder() -> None:
    recorders = {arm: Recorder(run_start=1000.0) for arm in URLS}
    routed = ArmRecorders(recorders, ArmAssigner(URLS))
    event = {"request_type": "GET", "name": "/a", "response_time": 5.0, "start_time": 1000.5}
    for arm, times in (("candidate", 3), ("baseline", 5)):
        for _ in range(times):
            routed.on_request(**event, response_length=10, context={ARM_KEY: arm})
    routed.on_request(**event, response_length=0, context={})  # no arm: not recorded
    counts = {arm: rec.finish(1003.0).total_counts.requests for arm, rec in recorders.items()}
    assert counts == {"candidate": 3, "baseline": 5}
    assert routed.unrouted == 1
