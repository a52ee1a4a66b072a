"""The recorder: windows by completion second, exact merging, errors, live figures, memory."""

from __future__ import annotations

import gc
import json
import random
import weakref

import pytest

from dhakacart_bench.measure import recorder as recorder_mod
from dhakacart_bench.measure.recorder import LIVE_MAX_WINDOW_S, Recorder
from dhakacart_bench.runfolder.meta import encode
from dhakacart_bench.runfolder.windows import Measurements, WindowData
from dhakacart_bench.stats.hdr import (
    SUMMARY_PERCENTILES,
    histogram_counts,
    new_histogram,
)

RUN_START = 1_800_000_000.25  # an epoch with a fractional part on purpose


PERCENTILES = (1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)


class CatchResponseError(Exception):
    """Stand-in for locust.exception.CatchResponseError (metrics never imports locust)."""


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def exact_percentile(sorted_values: list[int], p: float) -> int:
    """The sample at HDR's rank convention: max(1, int(p * n / 100 + 0.5))."""
    n = len(sorted_values)
    rank = max(1, int(p * n / 100 + 0.5))
    return sorted_values[min(rank, n) - 1]


def feed(recorder: Recorder, values_us: list[int], *, second: int = 0, name: str = "/a") -> None:
    """Record each value (µs) as a GET request completing in ``second`` of the run."""
    start = int(RUN_START) + second
    for value in values_us:
        ms = value / 1000
        recorder.on_request("GET", name, ms, 10, None, start + 0.5 - ms / 1000, None, None)


def assert_hist_matches(hist, values_us: list[int]) -> None:
    ordered = sorted(values_us)
    assert hist.get_total_count() == len(ordered)
    for p in PERCENTILES:
        got = hist.get_value_at_percentile(p)
        want = exact_percentile(ordered, p)
        assert want <= got <= want * 1.001, (p, got, want)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(list(range(1, 100_001)), id="uniform-1..100000"),
        pytest.param(
            [random.Random(1).randint(800, 1200) for _ in range(9000)]
            + [random.Random(2).randint(250_000, 400_000) for _ in range(1000)],
            id="bimodal",
        ),
        pytest.param(
            [random.Random(3).randint(2_000, 5_000) for _ in range(20_000)]
            + [30_000_000, 59_000_000, 3_500_000_000],
            id="huge-outliers",
        ),
    ],
)
def test_recorder_percentiles_are_exact_within_hdr_precision(values: list[int]) -> None:
    recorder = Recorder(run_start=RUN_START)
    feed(recorder, values)
    m = recorder.finish(RUN_START + 10)
    assert_hist_matches(m.endpoints["GET /a"], values)
    assert_hist_matches(m.total, values)

    row = encode(m.summary())["total"]
    assert row["count"] == len(values)
    assert row["min_ms"] == min(values) / 1000
    assert row["max_ms"] == max(values) / 1000
    assert row["mean_ms"] == pytest.approx(sum(values) / len(values) / 1000, abs=0.0005)
    ordered = sorted(values)
    for key, p in SUMMARY_PERCENTILES:
        want = exact_percentile(ordered, p) / 1000
        assert want <= row[key] <= want * 1.001, (key, row[key], want)
        assert row[key] <= row["max_ms"]


def test_windows_are_by_completion_second() -> None:
    recorder = Recorder(run_start=RUN_START)
    base = int(RUN_START)
    # starts in second 3, completes in second 5 (2.1 s response)
    recorder.on_request("GET", "/slow", 2100.0, 0, None, base + 3.5, None, None)
    recorder.on_request("GET", "/fast", 1.0, 0, None, base + 3.5, None, None)
    m = recorder.finish(RUN_START + 8)
    seconds = {w.epoch_second - base: sorted(w.endpoints) for w in m.windows}
    assert seconds == {3: ["GET /fast"], 5: ["GET /slow"]}
    assert [w.epoch_second for w in m.windows] == sorted(w.epoch_second for w in m.windows)


def test_start_time_none_uses_now(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(run_start=RUN_START)
    monkeypatch.setattr(recorder_mod.time, "time", lambda: RUN_START + 4.2)
    recorder.on_request("GET", "/a", 5.0, 0)
    m = recorder.finish(RUN_START + 6)
    assert [w.epoch_second for w in m.windows] == [int(RUN_START + 4.2)]


def test_errors_dedupe_with_first_and_last_seen() -> None:
    recorder = Recorder(run_start=RUN_START)
    for i in range(5):
        recorder.on_request(
            "POST",
            "/api/checkout",
            10.0,
            0,
            CatchResponseError("out_of_stock"),
            RUN_START + i,
            Response(409),
            None,
        )
    recorder.on_request(
        "POST", "/api/checkout", 3.0, 0, ConnectionRefusedError(111, "x"), RUN_START + 2, None, None
    )
    m = recorder.finish(RUN_START + 6)
    assert m.errors_overflow == 0
    first = m.errors[0]
    assert encode(first) == {
        "endpoint": "POST /api/checkout",
        "kind": "http_status",
        "status": 409,
        "message": "out_of_stock",
        "count": 5,
        "first_seen_s": 0.01,
        "last_seen_s": 4.01,
    }
    assert m.errors[1].kind == "connection"
    assert m.counts["POST /api/checkout"].failures == 6
    assert m.summary().endpoints[0].failures == 6
    json.dumps(encode(list(m.errors)))


def test_errors_overflow_beyond_max_errors() -> None:
    recorder = Recorder(run_start=RUN_START, max_errors=3)
    for i in range(10):
        recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError(f"e{i}"), RUN_START, None, None)
    recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError("e0"), RUN_START, None, None)
    m = recorder.finish(RUN_START + 2)
    assert [e.message for e in m.errors] == ["e0", "e1", "e2"]
    assert m.errors[0].count == 2
    assert m.errors_overflow == 7


def test_users_carried_forward_and_generator_samples() -> None:
    recorder = Recorder(run_start=RUN_START)
    recorder.set_users(5, now=RUN_START + 0.1)
    recorder.set_users(20, now=RUN_START + 3.0)
    recorder.set_generator_sample(41.5, 2.5, now=RUN_START + 3.0)
    m = recorder.finish(RUN_START + 6)
    assert m.users_by_second == {0: 5, 1: 5, 2: 5, 3: 20, 4: 20, 5: 20, 6: 20}
    assert m.generator_by_second == {3: (41.5, 2.5)}


def test_close_windows_frees_live_histograms_and_whole_run_is_merge_of_windows() -> None:
    recorder = Recorder(run_start=RUN_START)
    rng = random.Random(11)
    base = int(RUN_START)
    for second in range(6):
        for name in ("/a", "/b"):
            feed(recorder, [rng.randint(100, 90_000) for _ in range(300)], second=second, name=name)
    closed = recorder.close_windows(base + 4 + 2.0)  # seconds 0..3 end at or before base + 4
    assert [w.epoch_second - base for w in closed] == [0, 1, 2, 3]
    assert {k[0] - base for k in recorder._open} == {4, 5}
    assert all(isinstance(ew.histogram_b64, str) for w in closed for ew in w.endpoints.values())
    assert recorder.close_windows(base + 4 + 2.0) == []

    m = recorder.finish(RUN_START + 7)
    assert recorder._open == {}
    for name in ("GET /a", "GET /b"):
        merged = new_histogram()
        for window in m.windows:
            merged.add(window.endpoints[name].histogram())
        assert histogram_counts(merged) == histogram_counts(m.endpoints[name])
        assert merged.get_total_count() == m.counts[name].requests == 1800
    assert m.total.get_total_count() == 3600


def test_late_request_for_closed_second_is_merged() -> None:
    recorder = Recorder(run_start=RUN_START)
    base = int(RUN_START)
    feed(recorder, [1000, 2000], second=1)
    first = recorder.close_windows(base + 10)
    feed(recorder, [3000], second=1)  # arrives after its window closed
    late = recorder.close_windows(base + 11)
    assert [w.requests for w in first] == [2]
    assert [w.requests for w in late] == [1]  # the delta (what a worker ships)
    m = recorder.finish(base + 12)
    assert len(m.windows) == 1
    ew = m.windows[0].endpoints["GET /a"]
    assert (ew.requests, ew.min_us, ew.max_us, ew.sum_us) == (3, 1000, 3000, 6000)
    assert ew.histogram().get_total_count() == 3


def test_window_data_round_trips_through_json() -> None:
    recorder = Recorder(run_start=RUN_START)
    feed(recorder, [10, 20, 30_000], second=0)
    (window,) = recorder.close_windows(RUN_START + 10)
    again = WindowData.from_dict(json.loads(json.dumps(window.to_dict())))
    assert again == window


def test_ingest_two_workers_equals_one_recorder() -> None:
    rng = random.Random(5)
    requests = []
    for _ in range(4000):
        second = rng.randint(0, 9)
        name = rng.choice(["/a", "/b", "/c"])
        value = int(rng.paretovariate(1.2) * 1000)
        failed = rng.random() < 0.05
        requests.append((second, name, value, failed))

    def play(recorder: Recorder, items) -> None:
        for second, name, value, failed in items:
            ms = value / 1000
            exc = CatchResponseError(f"bad {name}") if failed else None
            start = int(RUN_START) + second + 0.5 - ms / 1000
            recorder.on_request("GET", name, ms, 7, exc, start, Response(500), None)

    single = Recorder(run_start=RUN_START)
    play(single, requests)
    expected = single.finish(RUN_START + 12)

    master = Recorder(run_start=RUN_START)
    workers = [Recorder(run_start=RUN_START + 0.3), Recorder(run_start=RUN_START + 0.7)]
    halves = [requests[0::2], requests[1::2]]
    for tick in (int(RUN_START) + 4, int(RUN_START) + 30):  # ship twice: partial, then the rest
        for worker, half in zip(workers, halves, strict=True):
            if tick < int(RUN_START) + 30:
                play(worker, [r for r in half if r[0] < 3])
            else:
                play(worker, [r for r in half if r[0] >= 3])
            shipped = [WindowData.from_dict(w.to_dict()) for w in worker.close_windows(tick)]
            master.ingest(shipped, json.loads(json.dumps(worker.drain_errors())))
        master.close_windows(tick)
    got = master.finish(RUN_START + 12)

    assert sorted(got.endpoints) == sorted(expected.endpoints)
    for name in expected.endpoints:
        assert histogram_counts(got.endpoints[name]) == histogram_counts(expected.endpoints[name])
        assert got.counts[name] == expected.counts[name]
    assert histogram_counts(got.total) == histogram_counts(expected.total)
    assert [w.epoch_second for w in got.windows] == [w.epoch_second for w in expected.windows]
    for a, b in zip(got.windows, expected.windows, strict=True):
        assert sorted(a.endpoints) == sorted(b.endpoints)
        for name in a.endpoints:
            ea, eb = a.endpoints[name], b.endpoints[name]
            assert (ea.requests, ea.failures, ea.bytes, ea.sum_us, ea.min_us, ea.max_us) == (
                eb.requests,
                eb.failures,
                eb.bytes,
                eb.sum_us,
                eb.min_us,
                eb.max_us,
            )
            assert histogram_counts(ea.histogram()) == histogram_counts(eb.histogram())
    assert got.summary() == expected.summary()

    def error_view(m: Measurements) -> list[tuple]:
        return sorted((e.endpoint, e.kind, e.status, e.message, e.count) for e in m.errors)

    assert error_view(got) == error_view(expected)
    assert sum(e.count for e in got.errors) == sum(r[3] for r in requests)


def test_drain_errors_returns_deltas_only() -> None:
    recorder = Recorder(run_start=RUN_START, max_errors=1)
    recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError("x"), RUN_START, None, None)
    recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError("y"), RUN_START, None, None)
    drained = recorder.drain_errors()
    assert [d.get("message") for d in drained] == ["x", None]
    assert drained[0]["count"] == 1 and drained[0]["first_seen_at"] == RUN_START + 0.001
    assert drained[1] == {"overflow": 1}
    assert recorder.drain_errors() == []
    recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError("x"), RUN_START + 1, None, None)
    assert [d["count"] for d in recorder.drain_errors()] == [1]


def test_live_stats() -> None:
    recorder = Recorder(run_start=RUN_START)
    base = int(RUN_START)
    recorder.set_users(50, now=base + 1)
    for second in range(20):
        feed(recorder, [second * 1000 + 1000] * 10, second=second)  # 10 requests per second
    recorder.on_request("GET", "/a", 1.0, 0, CatchResponseError("x"), base + 19.5, None, None)
    recorder.close_windows(base + 20)  # closes 0..17; 18 and 19 stay open
    now = base + 20.0  # seconds 11..20 make the last 10
    stats = recorder.live(now, window_s=10)
    assert stats.elapsed_s == pytest.approx(now - RUN_START)
    assert stats.users == 50
    assert stats.requests == 201 and stats.failures == 1
    assert stats.rps == pytest.approx(91 / 9.0)  # seconds 11..19 full, 20 just begun
    # p95 of {12..20 ms x10, 0.001 ms}: rank int(0.95*91+0.5)=86 -> 20 ms bucket
    assert stats.p95_ms == pytest.approx(20.0, rel=0.001)
    assert stats.error_pct == pytest.approx(100 / 91)
    assert stats.total_error_pct == pytest.approx(100 / 201)
    empty = Recorder(run_start=RUN_START).live(RUN_START + 1)
    assert empty.p95_ms is None and empty.rps == 0.0 and empty.requests == 0


def test_summary_shape() -> None:
    recorder = Recorder(run_start=RUN_START)
    feed(recorder, [1000, 2000, 3000], name="/b")
    feed(recorder, [500], name="/a")
    summary = encode(recorder.finish(RUN_START + 2.0).summary())
    assert list(summary) == ["duration_s", "endpoints", "total"]
    assert summary["duration_s"] == 2.0
    assert [e["name"] for e in summary["endpoints"]] == ["GET /a", "GET /b"]
    b = summary["endpoints"][1]
    assert list(b) == [
        "name",
        "method",
        "count",
        "failures",
        "failure_rate",
        "rps",
        "bytes",
        "min_ms",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
    ]
    assert b["method"] == "GET"
    assert (b["count"], b["rps"], b["bytes"], b["min_ms"], b["mean_ms"], b["max_ms"]) == (
        3,
        1.5,
        30,
        1.0,
        2.0,
        3.0,
    )
    total = summary["total"]
    assert total["name"] == "*" and total["method"] is None and total["count"] == 4
    json.dumps(summary)
    empty = encode(Recorder(run_start=RUN_START).finish(RUN_START + 1).summary())
    assert empty["endpoints"] == [] and empty["total"]["p95_ms"] is None


def test_memory_stays_flat_closed_histograms_are_freed_at_once() -> None:
    gc.disable()
    try:
        recorder = Recorder(run_start=RUN_START)
        feed(recorder, [1000, 2000], second=0)
        live_hist = next(iter(recorder._open.values())).hist
        ref = weakref.ref(live_hist)
        del live_hist
        recorder.close_windows(RUN_START + 10)
        assert ref() is None  # freed by reference counting, not left for the cyclic GC
    finally:
        gc.enable()
    base = int(RUN_START)
    for second in range(1, 100):
        feed(recorder, [1000], second=second)
        recorder.close_windows(base + second + 3)
    assert len(recorder._recent) <= LIVE_MAX_WINDOW_S
    assert len(recorder._open) <= 3


def test_values_wait_in_a_buffer_and_are_clamped_when_folded_in() -> None:
    recorder = Recorder(run_start=RUN_START)
    start = int(RUN_START)
    for ms in (0.0, 0.0004, 1.2346, 10.0**10):  # below 1 µs, and above the 1 h range
        # all completing in the same second
        recorder.on_request("GET", "/a", ms, 10, None, start_time=start + 0.5 - ms / 1000)
    window = next(iter(recorder._open.values()))
    assert window.hist.get_total_count() == 0 and len(window.pending) == 4
    live = recorder.live(start + 0.9)  # the progress line sees them
    assert live.requests == 4 and window.hist.get_total_count() == 4
    assert (window.min_us, window.max_us, window.sum_us) == (1, 3_600_000_000, 3_600_001_237)
    recorder.on_request("GET", "/a", 2.0, 10, None, start_time=start + 0.2)
    m = recorder.finish(start + 5)
    counts = m.counts["GET /a"]
    assert (counts.requests, counts.min_us, counts.max_us) == (5, 1, 3_600_000_000)
    assert counts.bytes == 50
    assert m.total.get_total_count() == 5


def test_closed_seconds_kept_for_the_progress_line_are_compact() -> None:
    recorder = Recorder(run_start=RUN_START)
    base = int(RUN_START)
    for second in range(5):
        feed(recorder, [900 + 2 * i for i in range(200)], second=second)
        feed(recorder, [1200], second=second, name="/b")
    recorder.close_windows(base + 10)
    spans = [recent.span for recent in recorder._recent.values()]
    assert len(spans) == 5
    # a few hundred buckets, not the histogram's 23,552 (184 KiB) per second
    assert all(span is not None and len(span.counts) < 1000 for span in spans)
    assert recorder.live(base + 5.5).requests == 5 * 201
