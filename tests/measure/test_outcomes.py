"""Business outcomes: the tally API, the book, shipping from workers and merging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dhakacart_bench.measure import outcomes
from dhakacart_bench.measure.engines.worker import WorkerShipper
from dhakacart_bench.measure.outcomes import OutcomeBook, tally
from dhakacart_bench.measure.recorder import Recorder
from dhakacart_bench.runfolder.meta import OutcomesMeta, RunMeta, decode, encode

START = 1_700_000_000.0


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recorder listening to :func:`tally`, as an engine attaches it for a run."""
    rec = Recorder(run_start=START)
    outcomes.add_listener(rec.on_outcome)
    try:
        yield rec
    finally:
        outcomes.remove_listener(rec.on_outcome)


def test_tally_outside_a_run_does_nothing() -> None:
    book = OutcomeBook()
    tally("deal:claimed", units=1)  # nobody listens: a plain `locust -f` run
    assert book.section(START) is None


def test_tally_reaches_the_recorder(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([START + 61.25, START + 61.5, START + 63.0])
    monkeypatch.setattr(outcomes.time, "time", lambda: next(clock))
    tally("deal:claimed", units=1)
    tally(" deal:claimed ", units=2)
    tally("deal:sold_out")
    section = recorder.outcomes.section(START)
    assert section is not None
    claimed = section.get("deal:claimed")
    assert claimed is not None
    assert (claimed.count, claimed.units, claimed.first_s, claimed.last_s) == (2, 3, 61.25, 61.5)
    assert section.count("deal:sold_out") == 1 and section.count("never") == 0


@pytest.mark.parametrize(
    ("name", "units"), [("", 0), ("  ", 0), (None, 0), ("x", -1), ("x", 1.5), ("x", True)]
)
def test_tally_refuses_bad_input(name: Any, units: Any) -> None:
    with pytest.raises(ValueError):
        tally(name, units=units)


def test_workers_tallies_merge_exactly_on_the_master() -> None:
    """Two workers ship their tallies with each report; the master adds them up."""
    master = Recorder(run_start=START)
    workers = [Recorder(run_start=START), Recorder(run_start=START)]
    shippers = [WorkerShipper(w) for w in workers]
    workers[0].on_outcome("deal:claimed", 1, START + 60.5)
    workers[1].on_outcome("deal:claimed", 1, START + 60.2)
    workers[1].on_outcome("deal:sold_out", 0, START + 61.0)
    for shipper in shippers:  # a periodic report ...
        payload = shipper.payload(START + 62, final=False)
        master.ingest([], payload["errors"], payload["outcomes"])
    workers[0].on_outcome("deal:claimed", 1, START + 70.0)
    workers[0].on_outcome("deal:sold_out", 0, START + 75.0)
    for shipper in shippers:  # ... and the final shipment carry only what is new
        payload = shipper.payload(START + 80, final=True)
        master.ingest([], payload["errors"], payload["outcomes"])
    section = master.outcomes.section(START)
    assert section is not None
    assert [(t.name, t.count, t.units, t.first_s, t.last_s) for t in section.tallies] == [
        ("deal:claimed", 3, 3, 60.2, 70.0),
        ("deal:sold_out", 2, 0, 61.0, 75.0),
    ]


def test_too_many_names_overflow() -> None:
    book = OutcomeBook(max_names=2)
    for name in ("a", "b", "c", "c", "a"):
        book.record(name, 0, START)
    section = book.section(START)
    assert section is not None
    assert [t.name for t in section.tallies] == ["a", "b"] and section.overflow == 2
    master = OutcomeBook(max_names=2)
    master.ingest(book.drain())
    merged = master.section(START)
    assert merged is not None and merged.overflow == 2 and merged.count("a") == 2


def test_outcomes_round_trip_through_run_json(make_run: Any, tmp_path: Any) -> None:
    from dhakacart_bench.runfolder.reader import load_run

    folder = make_run(
        seconds=5,
        outcomes=[{"name": "checkout:placed", "count": 4, "units": 7, "first_s": 1, "last_s": 3}],
    )
    meta = load_run(folder).meta
    assert meta.outcomes == OutcomesMeta(tallies=meta.outcomes.tallies)
    assert meta.outcomes.count("checkout:placed") == 4
    assert decode(encode(meta), RunMeta, where="run.json") == meta
    # a folder written before outcomes existed still reads
    data = encode(meta)
    data.pop("outcomes")
    assert decode(data, RunMeta, where="run.json").outcomes is None
