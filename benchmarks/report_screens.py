"""Screenshots of a report's first screen and its A4 print, with the first screen's
numbers checked against each other.

Given a run folder (for the issue: a 500-shopper ``bench run flash-sale``, run under
the measurement lock), re-renders its report into benchmarks/out/, takes a headless-
Chromium screenshot of the first screen (1280 x 900) and prints the report to A4 PDF.
Prints, as JSON: the banner's words, the capacity headline, the SLO rows against the
endpoint table, the sale's story against the store's own counts, and the PDF's pages
(characters and how far down each page is filled). Results: docs/benchmarks-report.md.

    flock /tmp/dhakacart-measure.lock bench run flash-sale --reports-dir benchmarks/out/fs
    python benchmarks/report_screens.py benchmarks/out/fs/<run-id> [--name flash-sale-500]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"


def first_screen_checks(run_dir: Path) -> dict[str, object]:
    """The first screen's numbers, and whether they agree with each other."""
    from dhakacart_bench.report.context import build_context
    from dhakacart_bench.runfolder.reader import load_run

    run = load_run(run_dir)
    ctx = build_context(run, charts=False)
    verdict = ctx["verdict"]
    users = run.meta.users
    rows = {r["name"]: r for r in ctx["endpoints"]}
    slos = []
    for slo in ctx["slos"]:
        row = rows.get(slo["endpoint"])
        table = row.get(slo["metric"]) if row and slo["metric"].endswith("_ms") else None
        slos.append(
            {
                "slo": slo["name"],
                "measured": slo["measured"],
                "endpoint_table": table,
                "agree": table is None or table == slo["measured"],
            }
        )
    sale = ctx["sale"]
    checks = {
        "banner_users_is_the_measured_peak": f"{users.peak:,} of the" in verdict["scale_words"],
        "banner_reference_is_the_scenario's": f"{users.reference_peak:,} shoppers"
        in verdict["scale_words"],
        "capacity_headline_names_the_peak": f"{users.peak:,}" in ctx["capacity"]["headline"],
        "slos_agree_with_the_endpoint_table": all(s["agree"] for s in slos),
    }
    if sale:
        checks["units_won_agree_with_the_store"] = sale["store_units_claimed"] in (
            None,
            sale["units_won"],
        )
        checks["orders_agree_with_the_store"] = sale["store_orders"] in (None, sale["orders"])
        checks["never_more_won_than_stock"] = (
            sale["stock"] is None or sale["units_won"] <= sale["stock"]
        )
    return {
        "status_line": f"{verdict['status']} at {verdict['scale_words']}",
        "headline": verdict["headline"],
        "shown": verdict["shown"],
        "not_shown": verdict["not_shown"],
        "reasons": verdict["reasons"],
        "capacity": ctx["capacity"]["headline"],
        "slos": slos,
        "sale": None if sale is None else sale["lines"],
        "checks": checks,
    }


def main() -> int:
    from dhakacart_bench.report.render import render_report
    from dhakacart_bench.runfolder.reader import load_run
    from tests.chromium import find_chromium, pdf_pages, print_pdf, screenshot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", default="flash-sale-500")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("Chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    page = render_report(load_run(args.run_dir), out=args.out / f"{args.name}.html")
    shot = screenshot(chromium, page, args.out / f"{args.name}-banner.png", width=1280, height=900)
    pdf = print_pdf(chromium, page, args.out / f"{args.name}.pdf")
    pages = pdf_pages(pdf)
    result = {
        "report": str(page),
        "screenshot": str(shot),
        "pdf": str(pdf),
        "pages": [
            {"page": p.number, "chars": p.chars, "filled": round(p.filled, 2)} for p in pages
        ],
        "first_screen": first_screen_checks(args.run_dir),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if all(result["first_screen"]["checks"].values()) else 1  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
