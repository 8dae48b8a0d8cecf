"""Reading PDFs back as the tests check them: text through poppler's pdftotext."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path


def pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout


def blank_pdf(extra: bytes = b"") -> bytes:
    """A real one-page PDF (pypdf writes it), as a scanner would send: what uploads accept.

    `extra` is appended verbatim (an incremental update, as crafted attacks use).
    """
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue() + extra


SCAN_PDF = blank_pdf()
