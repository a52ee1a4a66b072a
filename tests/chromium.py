"""Headless Chromium for report checks: screenshots, print-to-PDF, and a PDF's pages.

Used by tests/integration/test_report_browser.py and benchmarks/report_screens.py.
:func:`print_pdf` prints a page to A4 the way a manager's "Save as PDF" does (no
header or footer); :func:`pdf_pages` reads back, per page, how much it holds: the
characters of text and how far down the page the content reaches (from the positions of
its text: report charts keep their labels as text).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Flags for a headless, offline, first-run-free Chromium.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT_S = 120


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(chromium: str, page: Path, work: Path, *extra: str) -> None:
    args = [chromium, *HEADLESS, f"--user-data-dir={work / 'profile'}", *extra]
    proc = subprocess.run(
        [*args, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")


def screenshot(chromium: str, page: Path, out: Path, *, width: int, height: int) -> Path:
    """A PNG of the first ``width`` x ``height`` pixels of ``page``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.stem}-chromium"
    _run(chromium, page, work, f"--screenshot={out}", f"--window-size={width},{height}")
    shutil.rmtree(work, ignore_errors=True)
    return out


def print_pdf(chromium: str, page: Path, out: Path) -> Path:
    """``page`` printed to PDF (A4 from the page's ``@page`` rule, no header or footer)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.stem}-chromium"
    _run(chromium, page, work, f"--print-to-pdf={out}", "--no-pdf-header-footer")
    shutil.rmtree(work, ignore_errors=True)
    return out


@dataclass(frozen=True)
class PdfPage:
    """How much one printed page holds."""

    number: int
    chars: int
    #: how far down the printable height the text reaches, 0..1 (0: no text)
    filled: float
    text: str


def _collect_y(ys: list[float]) -> Callable[..., None]:
    """A pypdf text visitor that collects the page-space y of every piece of text."""

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            # text space → page space: y = tm's translation through the CTM
            ys.append(cm[1] * tm[4] + cm[3] * tm[5] + cm[5])

    return visit


def pdf_pages(path: Path) -> list[PdfPage]:
    """Every page of the PDF at ``path``: its text and how much of the page it fills."""
    from pypdf import PdfReader

    pages = []
    for number, page in enumerate(PdfReader(str(path)).pages, start=1):
        top = float(page.mediabox.top)
        height = float(page.mediabox.height) or 1.0
        ys: list[float] = []
        text = page.extract_text(visitor_text=_collect_y(ys)) or ""
        lowest = min(ys) if ys else top
        pages.append(
            PdfPage(
                number=number,
                chars=len("".join(text.split())),
                filled=max(0.0, min(1.0, (top - lowest) / height)),
                text=text,
            )
        )
    return pages
