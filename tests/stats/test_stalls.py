"""Stalls in a per-second completion series, and what arrivals would have waited."""

from __future__ import annotations

import math

import pytest

from dhakacart_bench.stats.stalls import (
    Stall,
    StallReport,
    arrival_percentile_ms,
    find_stalls,
)


def periodic(
    seconds: int, *, rate: float, every_s: float, for_s: float, offset: float = 0.4
) -> list[int]:
    """Completions per second of a target that stalls ``for_s`` every ``every_s``."""
    out = []
    for s in range(seconds):
        up = sum(1 for k in range(1000) if not 0 <= (s + k / 1000 - offset) % every_s < for_s)
        out.append(round(rate * up / 1000))
    return out


def test_the_issues_case_two_seconds_every_seven() -> None:
    """A target that stalls 2 s every 7 s: p99 of arrivals = 2 - 0.01 * 7 = 1.93 s."""
    completions = periodic(140, rate=1000, every_s=7, for_s=2)
    report = find_stalls(completions, [10] * 140, [2000.0] * 140)
    assert len(report.stalls) == 20
    whole = [s for s in report.stalls if s.start_s > 1]  # the first one began before second 1
    assert all(s.lost_s == pytest.approx(2.0, abs=0.01) for s in whole)
    assert report.fraction == pytest.approx(2 / 7, abs=0.01)
    assert report.longest_ms == 2000.0
    p99 = arrival_percentile_ms(report, 99.0, base_ms=5.0)
    assert p99 == pytest.approx(1935.0, abs=15.0)  # analytic: 1,935 ms


def test_a_steady_or_ramping_run_has_no_stalls() -> None:
    ramp_users = [10 + s for s in range(120)]
    completions = [round(u * 20 * (1 + 0.1 * math.sin(s))) for s, u in enumerate(ramp_users)]
    assert find_stalls(completions, ramp_users).stalls == ()
    # users leaving at the end are not a stall
    users = [100] * 60 + [100 - 10 * k for k in range(10)] + [0] * 5
    completions = [u * 5 for u in users]
    assert find_stalls(completions, users).stalls == ()


def test_quiet_seconds_of_a_quiet_run_are_not_stalls() -> None:
    """Five users thinking 1-5 s: seconds without completions are expected, not a stall."""
    completions = [0, 2, 1, 0, 3, 0, 1, 2, 0, 0, 1, 2, 3, 1, 0, 2] * 4
    assert find_stalls(completions, [5] * len(completions)).stalls == ()


def test_a_long_stall_does_not_hide_itself() -> None:
    completions = [500] * 40 + [0] * 15 + [500] * 40
    report = find_stalls(completions, [50] * len(completions))
    assert [(s.start_s, s.end_s) for s in report.stalls] == [(40, 54)]
    assert report.stalls[0].lost_s == pytest.approx(15.0)


def test_a_collapse_counts_partial_seconds() -> None:
    """Throughput falling to a tenth with users constant is a stall; its partial edges
    (40% and 60% of the normal rate) count as the lost time they are."""
    completions = [1000] * 20 + [400, 100, 600] + [1000] * 20
    report = find_stalls(completions, [20] * len(completions))
    (stall,) = report.stalls
    assert (stall.start_s, stall.end_s) == (20, 22)
    assert stall.lost_s == pytest.approx(0.6 + 0.9 + 0.4)


def test_a_stall_loses_no_more_than_its_longest_request() -> None:
    """Three seconds of collapse whose longest request took 2 s (a 2 s stall smeared over
    three second bins, or the generator pausing too): 2 s of it are the target's."""
    completions = [1000] * 20 + [0, 0, 0] + [1000] * 20
    longest = [5.0] * 20 + [None, None, None, 2000.0] + [5.0] * 19
    (stall,) = find_stalls(completions, [20] * len(completions), longest).stalls
    assert (stall.start_s, stall.end_s, stall.longest_ms) == (20, 22, 2000.0)
    assert stall.lost_s == pytest.approx(2.0)
    # without the longest request known, the completions alone say 3 s
    (blind,) = find_stalls(completions, [20] * len(completions)).stalls
    assert blind.lost_s == pytest.approx(3.0)


def test_first_and_last_seconds_are_never_judged() -> None:
    completions = [0, 0, 10, 1000, 1000, 1000, 1000, 10]
    assert find_stalls(completions, [10] * len(completions)).stalls == ()


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        find_stalls([1, 2, 3], [1, 2])


def test_arrival_percentile_solves_the_tail() -> None:
    stalls = tuple(Stall(start_s=i * 10, end_s=i * 10, lost_s=d, users=5) for i, d in
                   enumerate([3.0, 1.0, 1.0]))  # fmt: skip
    report = StallReport(stalls=stalls, judged_s=100)
    # P(wait > x) = sum(max(0, d - x)) / 100 = 0.01 → only the 3 s stall: x = 3 - 1 = 2 s
    assert arrival_percentile_ms(report, 99.0) == pytest.approx(2000.0)
    # p90 and p95: 10 s and 5 s of tail, but the stalls hold only 5 s: that percentile
    # falls outside them
    assert arrival_percentile_ms(report, 90.0) is None
    assert arrival_percentile_ms(report, 95.0) is None
    # p97: 3 s of tail; the 3 s stall alone would need x = 0, below the 1 s stalls, so
    # all three are active: 5 - 3x = 3 → x = 2/3 s
    assert arrival_percentile_ms(report, 97.0) == pytest.approx(2000 / 3)
    with pytest.raises(ValueError):
        arrival_percentile_ms(report, 100.0)
    assert arrival_percentile_ms(StallReport((), 0), 99.0) is None
