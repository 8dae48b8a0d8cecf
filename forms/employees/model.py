"""What reading an employee list returns: accepted rows and every problem found, row by row."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowProblem:
    """One problem in one cell (or a whole row, field ""), as the user sees the file.

    `row` is the row number in the file (header is row 1 when it is the first row). `field` is a
    field name from COLUMNS, "" for the whole row, or a header text for a column we do not know.
    """

    row: int
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class EmployeeList:
    """Accepted employees (normalised), all problems sorted by row, and what the file looked like.

    Rows with problems are not in `rows`; the application cannot go on while `problems` is not
    empty.
    """

    rows: list[dict] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    total_rows: int = 0
    columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
