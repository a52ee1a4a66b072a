"""The A/B gate's between-instance spread, measured from A/A run folders.

An A/A run is an A/B run whose two arms are the same build (``bench run SCENARIO
--against bundled`` without candidate changes, or the current build deployed twice).
Its true p95 ratio is 1, so how far A/A ratios stray beyond their own paired intervals
is how far two instances differ for a whole run — the part of an A/B comparison no
resampling of its seconds can see (:mod:`dhakacart_bench.stats.spread`).

:func:`calibrate` judges each folder's whole run after the gate's warm-up once (no
looks: the estimate wants every second), per endpoint, and pools the runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dhakacart_bench.errors import UsageError
from dhakacart_bench.gate.ab import after_warmup
from dhakacart_bench.gate.ab_cells import ArmCells, cells_of_run
from dhakacart_bench.runfolder.ab import BASELINE, CANDIDATE, ABMeta, read_ab_json
from dhakacart_bench.runfolder.layout import TOTAL
from dhakacart_bench.runfolder.reader import load_run
from dhakacart_bench.stats.paired import DEFAULT_PAIRED_SEED, paired_compare
from dhakacart_bench.stats.spread import MIN_RUNS, UPPER_COVERAGE, InstanceSpread, instance_spread

#: Resamples behind each run's within-run standard error.
CALIBRATION_RESAMPLES = 1000


@dataclass(frozen=True)
class AARun:
    """One A/A folder, judged whole: per endpoint, log(p95 ratio) and its within-run SE."""

    folder: Path
    scenario: str
    log_ratio: dict[str, float]
    se_within: dict[str, float]
    #: when the run's gate stopped it before its budget (seconds into the run), else None
    stopped_early_s: float | None = None
    budget_s: float | None = None


@dataclass(frozen=True)
class Calibration:
    runs: tuple[AARun, ...]
    spreads: dict[str, InstanceSpread]  # per endpoint with a rule in at least MIN_RUNS runs

    @property
    def widest(self) -> tuple[str, InstanceSpread]:
        """The endpoint whose instances differ most: the value to gate every endpoint with."""
        return max(self.spreads.items(), key=lambda item: item[1].sd)


def judged_cells(folder: Path, meta: ABMeta) -> tuple[ArmCells, ArmCells]:
    """The candidate's and the baseline's cells of an A/B folder (``meta``: its ab.json):
    the seconds the gate's looks judge, from the end of the recorded warm-up."""
    warmup = meta.plan.get("warmup_s", 0.0)
    cand, base = (
        after_warmup(cells_of_run(load_run(meta.arm_dir(folder, arm))), warmup)
        for arm in (CANDIDATE, BASELINE)
    )
    return cand, base


def aa_run(folder: Path, endpoints: Sequence[str], resamples: int = CALIBRATION_RESAMPLES) -> AARun:
    """Judge one A/A folder's whole run (after the warm-up) per endpoint."""
    meta = read_ab_json(folder)
    changed = meta.arms[CANDIDATE].overrides
    if changed and changed != meta.arms[BASELINE].overrides:
        raise UsageError(
            f"{folder}: not an A/A run: its candidate was changed ({changed});"
            " the spread is measured between identical arms"
        )
    cand, base = judged_cells(folder, meta)
    log_ratio, se_within = {}, {}
    for number, endpoint in enumerate(endpoints):
        stats = paired_compare(
            cand.get(endpoint, {}),
            base.get(endpoint, {}),
            z=1.96,
            resamples=resamples,
            seed=DEFAULT_PAIRED_SEED + number,
        )
        if stats is None or stats.seconds < 2 or not 0 < stats.ratio < math.inf:
            continue
        if not (math.isfinite(stats.se_within) and stats.se_within > 0):
            continue
        log_ratio[endpoint] = math.log(stats.ratio)
        se_within[endpoint] = stats.se_within
    budget = meta.plan.get("max_s")
    stopped = meta.stopped_at_s
    early = stopped if stopped is not None and (budget is None or stopped < budget) else None
    return AARun(folder, meta.scenario_name, log_ratio, se_within, early, budget)


def calibrate(
    folders: Sequence[Path],
    endpoints: Sequence[str] = (),
    *,
    resamples: int = CALIBRATION_RESAMPLES,
) -> Calibration:
    """The spread per endpoint over A/A ``folders`` (the first folder's gate endpoints
    unless ``endpoints`` are given). Raises UsageError with fewer than
    :data:`~dhakacart_bench.stats.spread.MIN_RUNS` usable runs."""
    if not folders:
        raise UsageError("give the A/A run folders to measure the spread from")
    chosen = tuple(dict.fromkeys(endpoints or read_ab_json(folders[0]).endpoints or (TOTAL,)))
    runs = tuple(aa_run(Path(folder), chosen, resamples) for folder in folders)
    spreads = {}
    for endpoint in chosen:
        have = [run for run in runs if endpoint in run.log_ratio]
        if len(have) >= MIN_RUNS:
            spreads[endpoint] = instance_spread(
                [run.log_ratio[endpoint] for run in have],
                [run.se_within[endpoint] for run in have],
            )
    if not spreads:
        raise UsageError(
            f"{len(runs)} A/A run folder(s), but no endpoint was measured in {MIN_RUNS} of"
            f" them: the spread needs at least {MIN_RUNS} A/A runs"
        )
    return Calibration(runs, spreads)


def calibration_lines(calibration: Calibration) -> list[str]:
    """What ``bench calibrate`` prints: per endpoint, then the setting to use."""
    runs = calibration.runs
    names = sorted({run.scenario for run in runs})
    lines = [
        f"Spread between identical instances, from {len(runs)} A/A runs of {', '.join(names)}:"
    ]
    width = max(len(e) for e in calibration.spreads)
    for endpoint, spread in calibration.spreads.items():
        lines.append(
            f"  {endpoint:<{width}}  A/A p95 ratios moved {spread.rms_log_ratio:.1%} (rms),"
            f" their within-run noise {spread.rms_within_se:.1%}: spread {spread.sd:.1%}"
            f" ({UPPER_COVERAGE:.0%} upper bound {spread.upper:.1%}, {spread.runs} runs)"
        )
    endpoint, spread = calibration.widest
    pct = math.ceil(spread.sd * 1000) / 10  # rounded up to 0.1 %
    lines.append(
        f"Gate A/B runs with it: [gate] ab_instance_spread_pct = {pct:.1f}"
        f" (or --instance-spread {pct:.1f}), the widest ({endpoint})."
    )
    early = [run for run in runs if run.stopped_early_s is not None]
    if early:
        budgets = sorted({run.budget_s for run in early if run.budget_s is not None})
        budget = f" of their {budgets[-1]:g} s budget" if len(budgets) == 1 else ""
        hold = (
            f"--ab-min-seconds {budgets[-1]:g}s"
            if len(budgets) == 1
            else "--ab-min-seconds equal to the budget"
        )
        stops = ", ".join(f"{run.stopped_early_s:.0f} s" for run in early[:5])
        more = ", …" if len(early) > 5 else ""
        lines.append(
            f"  Warning: {len(early)} of the {len(runs)} runs stopped early (after {stops}{more}"
            f"{budget}): a gate stops an A/A run at its first PASS, when its ratio happens"
            " to sit near 1, so such runs understate the spread. Calibrate with runs held"
            f" for the whole budget ({hold}; docs/gate.md)."
        )
    if spread.runs < 10:
        lines.append(
            f"  {spread.runs} runs pin it down loosely (up to {spread.upper:.1%});"
            " 10-20 A/A runs give a steadier figure."
        )
    return lines
