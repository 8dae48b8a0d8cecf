"""XLSX -> Table with openpyxl in read-only mode, values only.

`data_only=True` reads a formula cell as the value Excel cached when it last saved the file; no
formula is ever evaluated, and a formula without a cached value reads as empty. Only the first
worksheet is read. The sheet's own dimension record is ignored (some programs write a wrong one),
and at most MAX_COLUMNS + 1 columns are read, which is enough to tell "too many".
defusedxml is installed, so openpyxl refuses XML entity tricks; any failure inside openpyxl means
a damaged file and becomes `broken_file`, never an unhandled error.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

from openpyxl import load_workbook

from .errors import EmployeeFileError
from .limits import MAX_COLUMNS
from .sniff import broken_xlsx
from .table import Table, collect


def _numbered(sheet) -> Iterator[tuple[int, tuple]]:
    rows = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS + 1, values_only=True)
    yield from enumerate(rows, start=1)


def read_xlsx_table(data: bytes) -> Table:
    """Read the first worksheet; the container was already checked by sniff.check_xlsx_container."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            try:
                return _read_first_sheet(workbook)
            finally:
                workbook.close()
    except EmployeeFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds of error on damaged files
        raise broken_xlsx() from exc


def _read_first_sheet(workbook) -> Table:
    if not workbook.worksheets:  # openpyxl skips sheets whose part is missing from the zip
        raise broken_xlsx()
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    return collect(Table(kind="xlsx", epoch=workbook.epoch), _numbered(sheet))
