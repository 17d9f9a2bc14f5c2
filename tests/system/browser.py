"""Printing a page as staff do: headless Chromium to PDF, then poppler to read what came out.

The tools come from Debian (`scripts/test-tools`, run by `make test` and CI). A missing tool
fails the test that needs it with the install line: printing is what the test is about.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PRINT_TIMEOUT_SECONDS = 180  # a cold Chromium on a busy 2-core machine
INSTALL = "apt-get install -y --no-install-recommends chromium poppler-utils fonts-liberation (or scripts/test-tools)"


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: {INSTALL}"
    return found


def print_pdf(page: Path, pdf: Path) -> None:
    """Print a saved page to PDF as Chromium does: paper and margins from its CSS `@page`, no header or footer."""
    profile = pdf.parent / f"{pdf.stem}-chromium-profile"
    command = [
        tool("chromium"),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0 and pdf.exists(), f"chromium could not print {page}:\n{done.stderr[-2000:]}"


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    width_pt: float
    height_pt: float


def pdf_info(pdf: Path) -> PdfInfo:
    out = subprocess.run([tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    width, _, height = fields["Page size"].split()[:3]
    return PdfInfo(pages=int(fields["Pages"]), width_pt=float(width), height_pt=float(height))


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        [tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_png(pdf: Path, png: Path, *, dpi: int) -> None:
    """The first page as a PNG (`png` without its suffix is pdftoppm's root name)."""
    root = png.with_suffix("")
    subprocess.run([tool("pdftoppm"), "-png", "-r", str(dpi), "-singlefile", str(pdf), str(root)], check=True)
