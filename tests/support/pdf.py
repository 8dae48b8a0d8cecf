"""Reading PDFs back as the tests check them: text through poppler's pdftotext."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
