"""Bytes + file name -> Table, choosing the reader from what the bytes really are."""

from __future__ import annotations

from .csv_table import read_csv_table
from .errors import EmployeeFileError
from .sniff import detect_kind
from .table import Table
from .xlsx_table import read_xlsx_table


def read_table(data: bytes, filename: str) -> Table:
    """The file as a Table; raises EmployeeFileError for anything that is not a usable list."""
    kind = detect_kind(data, filename)
    table = read_csv_table(data) if kind == "csv" else read_xlsx_table(data)
    if not table.header_row:
        raise EmployeeFileError("empty", "В файле нет данных: ни заголовков, ни строк с сотрудниками")
    return table
