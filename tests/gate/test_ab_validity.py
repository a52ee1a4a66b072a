"""An open-model A/B run is fair only if both arms took their arrivals alike."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dhakacart_bench.gate.ab_judge import arrivals_rule
from dhakacart_bench.runfolder.meta import ArrivalsMeta


def arms(candidate: ArrivalsMeta | None, baseline: ArrivalsMeta | None) -> Any:
    return {
        "candidate": SimpleNamespace(arrivals=candidate),
        "baseline": SimpleNamespace(arrivals=baseline),
    }


def arrivals(planned: int, late: int = 0, dropped: int = 0) -> ArrivalsMeta:
    return ArrivalsMeta(
        planned=planned, started=planned - dropped, dropped=dropped, late=late,
        late_threshold_ms=50.0,
    )  # fmt: skip


def test_a_closed_run_has_no_arrivals_rule() -> None:
    assert arrivals_rule(arms(None, None)) is None


def test_lateness_both_arms_share_is_fair() -> None:
    # a busy generator starts 5 % of both arms' arrivals late: it cancels in the ratio
    rule = arrivals_rule(arms(arrivals(10_000, late=500), arrivals(10_000, late=450, dropped=3)))
    assert rule is not None and rule.passed and rule.decision == "valid"


def test_an_arm_whose_users_fell_behind_makes_the_run_invalid_naming_it() -> None:
    rule = arrivals_rule(arms(arrivals(10_000, late=900, dropped=120), arrivals(10_000, late=40)))
    assert rule is not None and not rule.passed and rule.decision == "invalid"
    assert "the candidate arm: 900 of 10,000 arrivals started more than 50 ms late" in (
        rule.message
    )
    assert "120 were dropped" in rule.message and "baseline arm" not in rule.message
    assert "raise [load] max_users" in rule.message
