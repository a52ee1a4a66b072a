"""The verdict states its scale; "ready?" is yes only at full size."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhakacart_bench.analysis.scale import Scale, fmt_rate, fmt_share, scale_of
from dhakacart_bench.analysis.verdict import FAIL, INCONCLUSIVE, PASS, evaluate_verdict
from dhakacart_bench.runfolder.meta import ArrivalsMeta, UsersMeta
from dhakacart_bench.runfolder.reader import load_run
from tests.synthetic import MakeRun, rewrite_meta


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0.005, "0.5 %"), (1.0, "100 %"), (0.25, "25 %"), (0.0002, "0.02 %"), (0.012, "1.2 %")],
)
def test_shares_are_said_plainly(fraction: float, text: str) -> None:
    assert fmt_share(fraction) == text


@pytest.mark.parametrize(("rate", "text"), [(12345.6, "12,346"), (100.0, "100"), (0.5, "0.5")])
def test_rates_are_said_plainly(rate: float, text: str) -> None:
    assert fmt_rate(rate) == text


def test_a_scaled_down_pass_says_what_it_did_and_did_not_show(make_run: MakeRun) -> None:
    path = make_run(seconds=10, users_profile=lambda s: 500, usl=(0.5, 0, 0))
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == PASS
    assert verdict.scale is not None and verdict.scale.fraction == pytest.approx(0.005)
    assert verdict.scale_line == (
        "PASS at 500 of the 100,000 shoppers the scenario is written for (0.5 %)"
    )
    assert not verdict.full_size and not verdict.ready
    assert not verdict.headline.startswith("Yes")
    assert "500 shoppers" in verdict.headline
    assert verdict.not_shown is not None and "100,000 shoppers" in verdict.not_shown
    assert "bench run flash-sale --users 100000" in verdict.not_shown


def test_only_a_full_size_pass_is_ready(make_run: MakeRun) -> None:
    path = make_run(seconds=10, users_profile=lambda s: 100, reference_users=100)
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == PASS and verdict.full_size and verdict.ready
    assert verdict.headline.startswith("Yes")
    assert verdict.scale_line == "PASS at the full 100 shoppers the scenario is written for"
    assert verdict.not_shown is None


def test_a_fail_at_small_scale_still_fails_and_says_its_scale(make_run: MakeRun) -> None:
    path = make_run(seconds=10, latency_model=lambda ep, n: 2000.0)
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == FAIL and not verdict.ready
    assert verdict.headline.startswith("No")
    assert "of the 100,000 shoppers" in verdict.scale_line
    assert verdict.not_shown is None  # a miss at small scale needs no bigger run to show


def test_an_inconclusive_run_is_never_ready(make_run: MakeRun) -> None:
    path = make_run(seconds=10, reference_users=100, saturated=True)
    verdict = evaluate_verdict(load_run(path))
    assert verdict.status == INCONCLUSIVE and verdict.full_size and not verdict.ready


def test_the_measured_peak_counts_not_the_plan(make_run: MakeRun) -> None:
    path = make_run(seconds=10, users_profile=lambda s: 100, reference_users=100)
    rewrite_meta(path, users=UsersMeta(peak=90, requested_peak=100, reference_peak=100))
    scale = scale_of(load_run(path))
    assert scale.fraction == pytest.approx(0.9) and not scale.full_size


def test_open_model_scale_is_the_arrival_rate(make_run: MakeRun, tmp_path: Path) -> None:
    path = make_run(seconds=10, workload_model="open", invariants=None)
    run = load_run(path)
    scale = scale_of(run)
    assert scale.model == "open" and scale.arrival_rate == 10.0
    assert scale.full_size  # the synthetic open scenario runs as written
    assert scale.words.startswith("10 of the 10 arrivals/s")
    rewrite_meta(path, arrivals=ArrivalsMeta(planned=1000, started=900, dropped=100))
    dropped = scale_of(load_run(path))
    assert not dropped.full_size and "dropped" in dropped.words


def test_scale_without_a_reference_says_so() -> None:
    scale = Scale("closed", users=20, reference_users=0)
    assert scale.fraction is None and not scale.full_size
    assert "no reference size" in scale.words


def test_the_scale_is_recorded_in_run_json(make_run: MakeRun) -> None:
    from dhakacart_bench.outcome import conclude

    path = make_run(seconds=10, users_profile=lambda s: 500, usl=(0.5, 0, 0))
    outcome = conclude(path, render=False)
    recorded = load_run(path).meta.verdict
    assert recorded is not None and recorded.status == PASS
    assert recorded.scale_fraction == pytest.approx(0.005)
    assert recorded.full_size is False and recorded.ready is False
    text = outcome.describe()
    assert "Verdict: PASS at 500 of the 100,000 shoppers" in text
    assert "Ready for the sale? Not shown yet" in text
    assert "Not shown: That the store holds 100,000 shoppers" in text
