"""``bench calibrate``: the spread between identical instances from A/A run folders, and
the A/B gate judging with it (``--instance-spread``, ``[gate] ab_instance_spread_pct``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dhakacart_bench.cli import main
from dhakacart_bench.gate.ab_judge import judge_ab_run
from dhakacart_bench.gate.ab_spread import calibrate
from dhakacart_bench.runfolder.ab import ABMeta, ArmMeta, write_ab_json
from tests.synthetic import write_synthetic_run


def ab_folder(
    parent: Path,
    seed: int,
    factor: float,
    *,
    overrides: dict | None = None,
    seconds: int = 30,
    stopped_at_s: float | None = None,
) -> Path:
    """An A/B folder whose candidate is ``factor`` times the baseline in every second,
    each arm's per-second median moving by its own 10 % (within-run noise)."""
    rng = np.random.default_rng(seed)
    folder = parent / f"ab-{seed}"
    for arm, f in (("candidate", factor), ("baseline", 1.0)):
        write_synthetic_run(
            folder,
            name=arm,
            seconds=seconds,
            users_profile=lambda s: 20,
            usl=(20.0, 0.0, 0.0),
            latency_model=lambda e, u, f=f: 8.0 * f * rng.lognormal(0.0, 0.1),
            seed=2 * seed + (arm == "baseline"),
            scenario_name="ab-smoke",
        )
    arms = {
        "candidate": ArmMeta("http://127.0.0.1:1", "candidate", "bundled", overrides or {}, 20),
        "baseline": ArmMeta("http://127.0.0.1:2", "baseline", "bundled", {}, 20),
    }
    meta = ABMeta(
        run_id=folder.name,
        scenario_name="ab-smoke",
        started_at="2026-11-24T06:00:00+00:00",
        duration_s=float(seconds),
        arms=arms,
        plan={"min_s": 10.0, "every_s": 5.0, "max_s": float(seconds), "warmup_s": 5.0,
              "min_requests": 100, "alpha": 0.05, "hsd_gamma": -2.0},
        margin_pct=5.0,
        error_margin_pct=1.0,
        endpoints=("*",),
        stopped_at_s=stopped_at_s,
    )  # fmt: skip
    write_ab_json(folder, meta)
    return folder


def test_a_steady_difference_between_instances_is_measured(tmp_path: Path) -> None:
    # ten A/A runs whose instances differ by ±6 % for the whole run (the sign varies
    # run to run, as which instance is the slower one does)
    steady = [ab_folder(tmp_path / "steady", s, math.exp(0.06 * (-1) ** s)) for s in range(10)]
    got = calibrate(steady, resamples=300).spreads["*"]
    assert got.runs == 10
    assert 0.8 * got.rms_log_ratio < got.sd < got.rms_log_ratio
    assert got.sd == pytest.approx(0.06, abs=0.01)
    assert got.upper > got.sd
    # the same runs without the steady difference: only their within-run noise
    same = [ab_folder(tmp_path / "same", s, 1.0) for s in range(10)]
    quiet = calibrate(same, resamples=300).spreads["*"]
    assert quiet.sd < 0.5 * got.sd
    assert quiet.rms_log_ratio < 1.5 * quiet.rms_within_se


def test_bench_calibrate_prints_the_setting_to_gate_with(tmp_path: Path) -> None:
    folders = [ab_folder(tmp_path, s, math.exp(0.05 * (-1) ** s), seconds=25) for s in range(6)]
    result = CliRunner().invoke(main, ["calibrate", *map(str, folders)])
    assert result.exit_code == 0, result.output
    spread = calibrate(folders).spreads["*"]
    pct = math.ceil(spread.sd * 1000) / 10
    assert "from 6 A/A runs of ab-smoke" in result.output
    assert f"spread {spread.sd:.1%}" in result.output
    assert f"ab_instance_spread_pct = {pct:.1f} (or --instance-spread {pct:.1f})" in result.output
    assert "6 runs pin it down loosely" in result.output  # fewer than 10


def test_bench_calibrate_warns_about_runs_that_stopped_early(tmp_path: Path) -> None:
    held = [ab_folder(tmp_path, s, math.exp(0.05 * (-1) ** s), seconds=25) for s in range(4)]
    # ab.json's plan says a 25 s budget; two runs' gates stopped them at their first PASS
    early = [
        ab_folder(tmp_path, s, 1.0, seconds=25, stopped_at_s=t) for s, t in ((4, 15.2), (5, 20.4))
    ]
    result = CliRunner().invoke(main, ["calibrate", *map(str, held + early)])
    assert result.exit_code == 0, result.output
    assert (
        "Warning: 2 of the 6 runs stopped early (after 15 s, 20 s of their 25 s budget)"
        in result.output
    )
    assert "--ab-min-seconds 25s" in result.output
    runs = calibrate(held + early).runs
    assert [run.stopped_early_s for run in runs] == [None] * 4 + [15.2, 20.4]
    # a stop at the budget itself is no early stop, and runs held whole get no warning
    at_budget = ab_folder(tmp_path / "b", 9, 1.0, seconds=25, stopped_at_s=25.0)
    whole = CliRunner().invoke(main, ["calibrate", *map(str, [*held, at_budget])])
    assert whole.exit_code == 0, whole.output
    assert "stopped early" not in whole.output


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: [ab_folder(tmp, 1, 1.0), ab_folder(tmp, 2, 1.0)], "at least 3 A/A runs"),
        (
            lambda tmp: [ab_folder(tmp, s, 1.0, overrides={"faults": {"latency_ms": {"*": 1}}})
                         for s in range(3)],
            "not an A/A run: its candidate was changed",
        ),
        (lambda tmp: [tmp / "nowhere"], "nowhere"),
    ],
)  # fmt: skip
def test_bench_calibrate_refuses_what_cannot_measure_a_spread(
    tmp_path: Path,
    make,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    result = CliRunner().invoke(main, ["calibrate", *map(str, make(tmp_path))])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_the_gate_judges_with_the_spread_given_or_recorded(tmp_path: Path) -> None:
    # +12 % in every second: beyond a +5 % margin by the within-run noise alone
    folder = ab_folder(tmp_path, 7, 1.12, seconds=60)
    assert judge_ab_run(folder).result.exit_code == 1
    # with 8 % between instances the same run cannot be told from the margin
    offline = CliRunner().invoke(
        main, ["gate", str(folder), "--no-report", "--instance-spread", "8"]
    )
    assert offline.exit_code == 0, offline.output
    assert "with 8.0% between instances" in offline.output
    # a folder records the spread it was run with; re-judged, it is used again
    data = json.loads((folder / "ab.json").read_text())
    data["plan"]["instance_spread"] = 0.08
    (folder / "ab.json").write_text(json.dumps(data))
    assert judge_ab_run(folder).result.exit_code == 0
    assert judge_ab_run(folder, spread=0.0).result.exit_code == 1


def test_instance_spread_is_for_ab_folders_only(tmp_path: Path) -> None:
    single = write_synthetic_run(tmp_path, seconds=20)
    result = CliRunner().invoke(main, ["gate", str(single), "--instance-spread", "3"])
    assert result.exit_code == 2
    assert "--instance-spread goes with an A/B run folder" in result.output
    # from the environment (a CI job's, set for its A/B gate) it does not break this gate
    result = CliRunner().invoke(
        main, ["gate", str(single), "--no-report"], env={"BENCH_AB_INSTANCE_SPREAD": "3"}
    )
    assert result.exit_code == 0, result.output
