"""read_employee_list: the whole path from uploaded bytes to accepted rows and a problem report."""

from __future__ import annotations

from datetime import date

from forms.dates import today_moscow

from .columns import COLUMNS, match_headers, mentions_full_name
from .errors import EmployeeFileError
from .model import EmployeeList
from .reading import read_table
from .rows import Progress, check_rows


def read_employee_list(data: bytes, filename: str, progress: Progress | None = None, *,
                       today: date | None = None) -> EmployeeList:
    """Read and check an uploaded CSV or XLSX list of employees.

    Raises EmployeeFileError when the file as a whole cannot be used (size, format, limits,
    missing columns); otherwise returns every row problem. `progress(done, total)` is called every
    500 rows and at the end. `today` (Moscow date by default) bounds birth dates.
    """
    table = read_table(data, filename)
    match = match_headers(table.headers)
    if match.missing:
        raise missing_columns(match.missing, table.headers)
    if not table.rows:
        raise no_rows()
    rows, problems, checked = check_rows(table, match, today or today_moscow(), progress)
    if not checked:
        raise no_rows()
    return EmployeeList(rows=rows, problems=problems, total_rows=checked,
                        columns=[h for h in table.headers if h])


def no_rows() -> EmployeeFileError:
    return EmployeeFileError("empty", "В файле есть заголовки, но нет ни одной строки с сотрудником")


def missing_columns(missing: list[str], headers: list[str]) -> EmployeeFileError:
    names = ", ".join(f"«{COLUMNS[f]}»" for f in missing)
    word = "обязательного столбца" if len(missing) == 1 else "обязательных столбцов"
    message = f"В файле нет {word}: {names}. Заголовки должны быть в первой непустой строке, как в шаблоне"
    if mentions_full_name(headers) and {"last_name", "first_name"} & set(missing):
        message += ". ФИО укажите в трёх столбцах: «Фамилия», «Имя», «Отчество»"
    return EmployeeFileError("missing_columns", message, tuple(missing))
