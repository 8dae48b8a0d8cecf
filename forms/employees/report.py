"""The problem report: the uploaded rows as an XLSX with every problem cell marked.

Sheet «Проверка списка» repeats the file (with the original row numbers in the first column): a
problem cell gets a red fill and a comment with the message, each row gets a «Замечания» cell
listing its problems. Sheet «Замечания» lists all problems one per line. Comments are kept to the
first MAX_COMMENTS problem cells (each costs a drawing shape; the fill and the «Замечания» cell
mark every one). Every text value is
neutralised, so a hostile cell (=HYPERLINK(...)) stays text. Written in openpyxl's write-only mode
so that 10,000 rows take well under a second.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter

from .columns import COLUMNS, match_headers
from .model import EmployeeList, RowProblem
from .neutralise import neutralise
from .reading import read_table
from .table import Table

PROBLEM_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
HEADER_FONT = Font(bold=True)
DATE_FORMAT = "DD.MM.YYYY"
AUTHOR = "Проверка списка"
REMARKS = "Замечания"
MAX_COMMENTS = 2_000
WRAP = Alignment(wrap_text=True, vertical="top")


def problems_report_xlsx(data: bytes, filename: str, result: EmployeeList) -> bytes:
    """The uploaded file with `result.problems` marked; `data` must be the file `result` came from."""
    table = read_table(data, filename)
    locate = _Locator(table)
    by_row: dict[int, list[RowProblem]] = defaultdict(list)
    for problem in result.problems:
        by_row[problem.row].append(problem)
    workbook = Workbook(write_only=True)
    _write_rows(workbook.create_sheet("Проверка списка"), table, locate, by_row)
    _write_list(workbook.create_sheet(REMARKS), result.problems, locate)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class _Locator:
    """Which column of the file a problem belongs to (0-based), and how to name that column."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.positions = match_headers(table.headers).positions
        self.width = max([len(table.headers), *(len(cells) for _, cells in table.rows)])

    def column(self, problem: RowProblem) -> int | None:
        if problem.field in self.positions:
            return self.positions[problem.field]
        headers = self.table.headers
        if problem.field and problem.field in headers:  # a header-row problem names its header
            if problem.code == "duplicate_column":  # the repeat, not the first column of that name
                return len(headers) - 1 - headers[::-1].index(problem.field)
            return headers.index(problem.field)
        if problem.field.startswith("Столбец "):
            return column_index_from_string(problem.field.removeprefix("Столбец ")) - 1
        return None

    def label(self, problem: RowProblem) -> str:
        column = self.column(problem)
        if column is None:
            return "Вся строка"
        header = self.table.headers[column] if column < len(self.table.headers) else ""
        return header or COLUMNS.get(problem.field) or f"Столбец {get_column_letter(column + 1)}"


def _cell(sheet, value: object, problems: list[str] | None = None, bold: bool = False,
          comment: bool = True) -> object:
    """A plain value where no style is needed (write-only cells are costly), else a styled cell."""
    if not (problems or bold or isinstance(value, datetime | date)):
        return neutralise(value)
    cell = WriteOnlyCell(sheet, value=value if isinstance(value, datetime | date) else neutralise(value))
    if isinstance(value, datetime | date):
        cell.number_format = DATE_FORMAT
    if bold:
        cell.font = HEADER_FONT
    if problems:
        cell.fill = PROBLEM_FILL
    if problems and comment:
        cell.comment = Comment(str(neutralise("\n".join(problems))), AUTHOR, width=300, height=120)
    return cell


def _marks(problems: list[RowProblem], locate: _Locator) -> dict[int | None, list[str]]:
    marks: dict[int | None, list[str]] = defaultdict(list)
    for problem in problems:
        marks[locate.column(problem)].append(problem.message)
    return marks


def _write_rows(sheet, table: Table, locate: _Locator, by_row: dict[int, list[RowProblem]]) -> None:
    sheet.freeze_panes = "B2"
    for i, width in enumerate([9] + [22] * locate.width + [60], start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    headers = table.headers + [""] * (locate.width - len(table.headers))
    comments = _CommentBudget()
    sheet.append(_line(sheet, "Строка", headers, by_row.get(table.header_row, []), locate, comments, bold=True))
    for number, cells in table.rows:
        values = list(cells) + [None] * (locate.width - len(cells))
        sheet.append(_line(sheet, number, values, by_row.get(number, []), locate, comments))


class _CommentBudget:
    def __init__(self) -> None:
        self.left = MAX_COMMENTS

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _line(sheet, number: object, values: list, problems: list[RowProblem], locate: _Locator,
          comments: _CommentBudget, bold: bool = False) -> list[object]:
    marks = _marks(problems, locate)
    line = [_cell(sheet, number, marks.get(None), bold=bold, comment=None in marks and comments.take())]
    line += [_cell(sheet, v, marks.get(i), bold=bold, comment=i in marks and comments.take())
             for i, v in enumerate(values)]
    if bold:
        return [*line, _cell(sheet, REMARKS, bold=True)]
    if not problems:
        return line
    remark = WriteOnlyCell(sheet, value=neutralise("\n".join(f"{locate.label(p)}: {p.message}" for p in problems)))
    remark.alignment = WRAP
    return [*line, remark]


def _write_list(sheet, problems: list[RowProblem], locate: _Locator) -> None:
    for i, width in enumerate([9, 28, 90], start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append([_cell(sheet, title, bold=True) for title in ("Строка", "Столбец", "Замечание")])
    for problem in problems:
        sheet.append([_cell(sheet, v) for v in (problem.row, locate.label(problem), problem.message)])
    if not problems:
        sheet.append([_cell(sheet, None), _cell(sheet, None), _cell(sheet, "Замечаний нет")])
