"""Hard limits on an uploaded employee list.

They keep one upload from costing more than a few seconds of CPU or a few dozen megabytes of memory,
whatever the file claims to be: the size is checked before anything is parsed, and an XLSX (a zip)
is checked for its declared uncompressed sizes before openpyxl opens it.
"""

from __future__ import annotations

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 30
# Rows read at all, empty ones included: empty rows are skipped for free in a list, but five
# megabytes of line breaks (or a stray cell far below the list) must not cost seconds.
MAX_SCANNED_ROWS = 100_000

# XLSX is a zip: refuse archives that would unpack into more than this, or that are compressed
# suspiciously well (a "zip bomb"). Real workbooks of 10,000 rows unpack to a few megabytes and
# compress 5-20 times; a run of zeros compresses a thousand times.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 1024 * 1024  # small parts (styles, empty sheets) may compress very well
MAX_ZIP_ENTRIES = 1_000


def size_label(n_bytes: int) -> str:
    """«5 МБ» for people; limits are whole megabytes."""
    return f"{n_bytes // (1024 * 1024)} МБ"


def count_label(n: int) -> str:
    """«10 000» with a no-break space as Russian typography groups thousands."""
    return f"{n:,}".replace(",", "\u00a0")
