"""The report's first screen states its scale; the sale's outcomes; stalls shown where they
happened; a comparison judged with the gate's statistics, charts on shared axes."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from dhakacart_bench.report.render import render_compare, render_report
from dhakacart_bench.runfolder.reader import load_run
from tests.analysis.test_omission import stalling_run
from tests.analysis.test_sale import SALE, STORE, _invariants
from tests.synthetic import MakeRun


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def test_a_500_shopper_pass_states_its_scale(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=20, users_profile=lambda s: 500, usl=(0.5, 0, 0)))
    banner = _soup(render_report(run)).find(id="verdict").find(class_="banner")
    assert "partial" in banner["class"]
    assert banner.find(class_="status").get_text() == "PASS"
    scale = banner.find(class_="scale").get_text()
    assert scale == "at 500 of the 100,000 shoppers the scenario is written for (0.5 %)"
    headline = banner.find(class_="headline").get_text()
    assert not headline.startswith("Yes") and "500 shoppers" in headline
    evidence = {
        dt.get_text(): dd.get_text()
        for dt, dd in zip(banner.find("dl")("dt"), banner.find("dl")("dd"), strict=True)
    }
    assert evidence["Shown"].startswith("Every target held with 500 of the 100,000 shoppers")
    assert "100,000 shoppers" in evidence["Not shown"]


def test_a_full_size_pass_answers_yes(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=20, users_profile=lambda s: 50, reference_users=50))
    banner = _soup(render_report(run)).find(id="verdict").find(class_="banner")
    assert "partial" not in banner["class"]
    assert banner.find(class_="headline").get_text().startswith("Yes")
    assert "Not shown" not in banner.get_text()


def test_the_sale_section_tells_the_sales_story(make_run: MakeRun) -> None:
    run = load_run(make_run(seconds=10, outcomes=SALE, store=STORE, invariants=_invariants(50)))
    section = _soup(render_report(run)).find(id="sale")
    assert section is not None
    text = section.get_text(" ")
    assert "260 deal claims: 50 won (50 units), 150 answered sold out" in text
    assert "sold out (50 units) 1.4 s after the opening at 60 s" in text
    rows = {
        tr("td")[0].get_text(): tr("td")[1].get_text()
        for tr in section.find("table", class_="outcomes").find("tbody")("tr")
    }
    assert rows["deal:limit_reached"] == "40" and rows["checkout:placed"] == "12"


def test_no_outcomes_no_sale_section(make_run: MakeRun) -> None:
    assert _soup(render_report(load_run(make_run(seconds=5)))).find(id="sale") is None


def test_stalls_are_said_in_the_verdict_and_shaded_on_the_load_chart(make_run: MakeRun) -> None:
    soup = _soup(render_report(load_run(stalling_run(make_run))))
    banner = soup.find(id="verdict").get_text(" ")
    assert "Coordinated omission" in banner and "understate what arriving shoppers" in banner
    assert "completions stalled" in soup.find(id="chart-load").get_text()


def _tick_labels(figure: BeautifulSoup) -> set[str]:
    return {t.get_text() for t in figure.find_all("text") if re.fullmatch(r"[\d,.]+", t.get_text())}


def test_compare_charts_share_their_axes_and_judge_beyond_the_noise(
    make_run: MakeRun, tmp_path: Path
) -> None:
    a = load_run(make_run(name="a", seconds=30, users_profile=lambda s: 20, seed=1))
    b = load_run(
        make_run(name="b", seconds=30, users_profile=lambda s: 20, usl=(12.0, 0, 0), seed=2)
    )
    soup = _soup(render_compare(a, b))
    left, right = soup.find(id="a-chart-load"), soup.find(id="b-chart-load")
    assert _tick_labels(left) == _tick_labels(right)  # same users and requests/s axes
    changes = soup.find(id="changes")
    items = [li.get_text(" ", strip=True) for li in changes("li")]
    assert items and all(("▲" in i) == (" up " in i) for i in items)
    assert any(i.startswith("▲ better") and "throughput up" in i for i in items)
    assert "interval" in items[0]


def test_two_identical_runs_compare_as_unchanged(make_run: MakeRun, tmp_path: Path) -> None:
    a = load_run(make_run(name="a", seconds=25, users_profile=lambda s: 20, seed=3))
    b = load_run(make_run(name="b", seconds=25, users_profile=lambda s: 20, seed=4))
    soup = _soup(render_compare(a, b))
    assert "No endpoint changed beyond the run-to-run noise" in soup.find(id="changes").get_text()
    assert soup.select("td.worse") == [] and soup.select("td.better") == []
