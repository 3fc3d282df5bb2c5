"""report.pdf: the HTML report printed to A4 by a headless Chromium.

The print stylesheet (tables.CSS, `@media print` / `@page`) does the layout:
A4 margins, page numbers in the bottom margin, headings kept with what follows.
Chromium is found on the PATH; without it, a clear message says what to install.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 180  # seconds


class PdfUnavailable(RuntimeError):
    """No headless Chromium to print with, or it failed."""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html: str | Path, pdf: str | Path | None = None) -> Path:
    """Print `html` to `pdf` (default: beside it, `.pdf`) and return the PDF's path."""
    html = Path(html).resolve()
    pdf = Path(pdf) if pdf is not None else html.with_suffix(".pdf")
    browser = find_browser()
    if browser is None:
        raise PdfUnavailable(
            "--pdf needs a headless Chromium on the PATH (one of: " + ", ".join(BROWSERS) + "); "
            "install it (Debian/Ubuntu: apt-get install chromium) or print report.html from a browser, "
            "which uses the same A4 print stylesheet")
    with tempfile.TemporaryDirectory(prefix="vaxstudy-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", html.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"{browser} did not finish printing {html.name} within {TIMEOUT} s") from None
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise PdfUnavailable(f"{browser} failed to print {html.name} (exit {done.returncode}): {tail[0][:200]}")
    return pdf
