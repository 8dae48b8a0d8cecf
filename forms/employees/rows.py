"""Checking the rows of a Table against the employee columns.

Each row is checked cell by cell (forms.employees.checks); then duplicates: the same ЕНП twice, or
the same ФИО and birth date twice, reported on the later row with the number of the first one.
A row with any problem is left out of the accepted rows; the first of two duplicates stays in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from openpyxl.utils import get_column_letter

from .checks import (
    Issue,
    check_birth_date,
    check_email,
    check_enp,
    check_inn,
    check_name,
    check_position,
)
from .columns import COLUMNS, HeaderMatch
from .model import RowProblem
from .table import Table, is_blank

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 500


@dataclass
class RowResult:
    number: int
    values: dict[str, object]                 # field -> normalised value (None when missing or bad)
    problems: list[RowProblem] = field(default_factory=list)


class RowChecker:
    """Checks one row cell by cell, in the file's column order (so problems read left to right)."""

    def __init__(self, match: HeaderMatch, table: Table, today: date) -> None:
        self.positions = match.positions
        self.epoch = table.epoch
        self.today = today
        self.order = sorted(COLUMNS, key=lambda f: self.positions.get(f, len(COLUMNS) + 100))

    def _check(self, name: str, value: object) -> tuple[object, Issue | None]:
        if name in ("last_name", "first_name"):
            return check_name(name, value)
        if name == "middle_name":
            return check_name(name, value, optional=True)
        if name == "birth_date":
            return check_birth_date(value, self.epoch, self.today)
        return _SIMPLE_CHECKS[name](value)

    def check(self, number: int, cells: tuple) -> RowResult:
        result = RowResult(number, {})
        for name in self.order:
            column = self.positions.get(name)
            value = cells[column] if column is not None and column < len(cells) else None
            normalised, issue = self._check(name, value)
            result.values[name] = normalised
            if issue is not None:
                result.problems.append(RowProblem(number, name, issue[0], issue[1]))
        return result


_SIMPLE_CHECKS: dict[str, Callable[[object], tuple[object, Issue | None]]] = {
    "inn": check_inn, "position": check_position, "enp": check_enp, "email": check_email,
}


class Duplicates:
    """Remembers the first row of each ЕНП and each person (ФИО + birth date)."""

    def __init__(self) -> None:
        self.enp: dict[str, int] = {}
        self.person: dict[tuple, int] = {}

    def check(self, row: RowResult) -> RowProblem | None:
        v = row.values
        enp = v.get("enp")
        if enp is not None:
            first = self.enp.setdefault(enp, row.number)
            if first != row.number:
                return RowProblem(row.number, "enp", "duplicate", f"Этот номер полиса уже указан в строке {first}")
        if v.get("last_name") and v.get("first_name") and v.get("birth_date"):
            key = tuple(_fold(v.get(f)) for f in ("last_name", "first_name", "middle_name", "birth_date"))
            first = self.person.setdefault(key, row.number)
            if first != row.number:
                return RowProblem(row.number, "", "duplicate",
                                  f"Сотрудник с такими же ФИО и датой рождения уже указан в строке {first}")
        return None


def _fold(value: object) -> str:
    return str(value or "").lower().replace("ё", "е")


def header_problems(table: Table, match: HeaderMatch) -> list[RowProblem]:
    """Unknown and repeated columns, reported on the header row."""
    problems = [
        RowProblem(table.header_row, header, "unknown_column",
                   f"Неизвестный столбец «{header}»: переименуйте его, как в шаблоне, или удалите")
        for _, header in match.unknown
    ]
    problems += [
        RowProblem(table.header_row, header, "duplicate_column",
                   f"Столбец «{header}» повторяет столбец «{first}»: оставьте один из них")
        for _, header, first in match.repeated
    ]
    return problems


def unlabelled_columns(table: Table, match: HeaderMatch) -> list[RowProblem]:
    """Columns that hold data but have no header (blank header cell or beyond the header row)."""
    blank = set(match.blank)
    width = len(table.headers)
    used: set[int] = set()
    for _, cells in table.rows:
        used.update(i for i, v in enumerate(cells) if (i >= width or i in blank) and not is_blank(v))
    return [
        RowProblem(table.header_row, f"Столбец {get_column_letter(i + 1)}", "unknown_column",
                   f"В столбце {get_column_letter(i + 1)} есть данные, но нет заголовка: "
                   "подпишите столбец, как в шаблоне, или удалите его")
        for i in sorted(used)
    ]


def _only_numbered(cells: tuple, numbering: set[int]) -> bool:
    """A row with nothing but its «№ п/п» is an empty row of a pre-numbered form."""
    return all(is_blank(v) for i, v in enumerate(cells) if i not in numbering)


def check_rows(table: Table, match: HeaderMatch, today: date,
               progress: Progress | None = None) -> tuple[list[dict], list[RowProblem], int]:
    """Accepted rows, the problems of all rows in file order, and the number of rows checked."""
    duplicates = Duplicates()
    accepted: list[dict] = []
    problems = header_problems(table, match) + unlabelled_columns(table, match)
    total, checked = len(table.rows), 0
    checker = RowChecker(match, table, today)
    numbering = set(match.numbering)
    for done, (number, cells) in enumerate(table.rows, start=1):
        if numbering and _only_numbered(cells, numbering):
            continue
        checked += 1
        row = checker.check(number, cells)
        duplicate = duplicates.check(row)
        if duplicate is not None:
            row.problems.append(duplicate)
        if row.problems:
            problems.extend(row.problems)
        else:
            accepted.append({"row": number, **{name: row.values[name] for name in COLUMNS}})
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    problems.sort(key=lambda p: p.row)
    return accepted, problems, checked
