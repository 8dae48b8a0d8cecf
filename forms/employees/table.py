"""A spreadsheet as rows of raw values, whatever the file format.

Both readers produce the same `Table`: the header row (the first non-empty row), its headers, and
the non-empty data rows with their row numbers as the user sees them (Excel's row numbers; for a
CSV the record number, which is what Excel shows when it opens the file). Empty rows are skipped.
Limits on rows and columns are enforced while reading, so a huge file stops early.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .errors import EmployeeFileError
from .limits import MAX_COLUMNS, MAX_ROWS, MAX_SCANNED_ROWS, count_label


@dataclass
class Table:
    kind: str                      # "csv" | "xlsx"
    header_row: int = 0
    headers: list[str] = field(default_factory=list)
    rows: list[tuple[int, tuple]] = field(default_factory=list)
    epoch: datetime | None = None  # XLSX date system, for serial numbers in the date column


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def used_width(values: Sequence[object]) -> int:
    """Number of cells up to the last non-blank one."""
    for i in range(len(values) - 1, -1, -1):
        if not is_blank(values[i]):
            return i + 1
    return 0


def too_many_columns() -> EmployeeFileError:
    return EmployeeFileError(
        "too_many_columns", f"В файле больше {MAX_COLUMNS} столбцов: оставьте только столбцы из шаблона")


def too_many_rows() -> EmployeeFileError:
    return EmployeeFileError(
        "too_many_rows", f"В файле больше {count_label(MAX_ROWS)} сотрудников: в одном списке их может быть "
                         f"не более {count_label(MAX_ROWS)}")


def too_many_rows_scanned() -> EmployeeFileError:
    return EmployeeFileError(
        "too_many_rows", f"В файле больше {count_label(MAX_SCANNED_ROWS)} строк, считая пустые: удалите лишние "
                         "строки ниже списка сотрудников")


def collect(table: Table, numbered_rows: Iterable[tuple[int, Sequence[object]]]) -> Table:
    """Fill `table` from (row number, values) pairs: header first, then the non-empty rows."""
    for number, values in numbered_rows:
        if number > MAX_SCANNED_ROWS:
            raise too_many_rows_scanned()
        width = used_width(values)
        if width == 0:
            continue
        if width > MAX_COLUMNS:
            raise too_many_columns()
        if not table.header_row:
            table.header_row = number
            table.headers = [_header_text(v) for v in values[:width]]
            continue
        if len(table.rows) >= MAX_ROWS:
            raise too_many_rows()
        table.rows.append((number, tuple(values[:width])))
    return table


def _header_text(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())
