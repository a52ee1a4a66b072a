"""The sale's own story, from the outcomes the shoppers tallied."""

from __future__ import annotations

from dhakacart_bench.analysis.sale import sale_story
from dhakacart_bench.runfolder.meta import InvariantsMeta
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun

SALE = [
    {"name": "deal:attempted", "count": 260, "first_s": 58.0, "last_s": 80.0},
    {"name": "deal:claimed", "count": 50, "units": 50, "first_s": 60.1, "last_s": 61.4},
    {"name": "deal:sold_out", "count": 150, "first_s": 61.6, "last_s": 80.0},
    {"name": "deal:limit_reached", "count": 40, "first_s": 60.5, "last_s": 79.0},
    {"name": "deal:not_active", "count": 15, "first_s": 58.0, "last_s": 59.9},
    {"name": "checkout:placed", "count": 12, "units": 19, "first_s": 3.0, "last_s": 90.0},
    {"name": "checkout:out_of_stock", "count": 2, "first_s": 70.0, "last_s": 71.0},
]
STORE = {"deal_stock": 50, "deal_opens_at_s": 60.0}


def _invariants(claimed: int) -> InvariantsMeta:
    stats = {"orders": 62, "deal_units_claimed": claimed, "deal_units_remaining": 0}
    return InvariantsMeta(checked=True, ok=True, stats=stats)


def test_the_sale_as_the_shoppers_saw_it(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=5, outcomes=SALE, store=STORE, invariants=_invariants(50)))
    story = sale_story(run)
    assert story is not None
    assert (story.attempted, story.won, story.units_won) == (260, 50, 50)
    assert (story.sold_out, story.limit_reached, story.not_active) == (150, 40, 15)
    assert story.unanswered == 260 - (50 + 150 + 40 + 15)
    assert story.stock == 50 and story.opens_at_s == 60.0
    assert story.sold_out_at_s == 61.4 and story.sold_out_after_s is not None
    assert round(story.sold_out_after_s, 3) == 1.4
    assert (story.orders, story.units) == (62, 69)
    lines = story.lines()
    assert lines[0].startswith("260 deal claims: 50 won (50 units), 150 answered sold out,")
    assert "40 refused by the per-shopper limit" in lines[0]
    assert any("sold out (50 units) 1.4 s after the opening at 60 s" in line for line in lines)
    assert any("62 orders placed, 69 units in all" in line for line in lines)
    assert any("agrees with the 50 the shoppers were told they won" in line for line in lines)
    assert any("The store counted 62 orders — agrees with the 62" in line for line in lines)


def test_the_store_and_the_shoppers_disagreeing_is_said(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=5, outcomes=SALE, store=STORE, invariants=_invariants(53)))
    story = sale_story(run)
    assert story is not None
    assert any("DISAGREES" in line for line in story.lines())


def test_a_sale_that_did_not_sell_out(make_run: MakeRun) -> None:
    outcomes = [
        {"name": "deal:attempted", "count": 20},
        {"name": "deal:claimed", "count": 20, "units": 20, "first_s": 61, "last_s": 70},
    ]
    run = load_run(make_run(seconds=5, outcomes=outcomes, store=STORE, invariants=None))
    story = sale_story(run)
    assert story is not None and story.sold_out_at_s is None
    assert story.stock is None  # an external target: the scenario's [store] does not apply
    assert any("did not sell out: 20 units were won" in line for line in story.lines())


def test_no_sale_outcomes_no_story(make_run: MakeRun) -> None:
    assert sale_story(load_run(make_run(seconds=5))) is None
    other = [{"name": "newsletter:signup", "count": 3}]
    run = load_run(make_run(seconds=5, outcomes=other))
    assert sale_story(run) is None
    assert run.meta.outcomes is not None and run.meta.outcomes.count("newsletter:signup") == 3
