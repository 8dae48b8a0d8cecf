"""Downloadable templates of the employee list: XLSX and CSV with the right headers and one example.

The example row passes every check (its ЕНП carries a correct Luhn digit, its ИНН correct check
digits), so a template filled in the same way is accepted. In the XLSX the ЕНП and ИНН columns
are text-formatted: typed into a «General» cell, a 16-digit ЕНП would lose its last digit. The CSV
is UTF-8 with a BOM and semicolons, which Russian Excel opens correctly by double click.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from stdnum import luhn

from .columns import COLUMNS, OPTIONAL_FIELDS
from .neutralise import neutralise

_ENP_BASE = "500000000012345"
EXAMPLE: dict[str, object] = {
    "last_name": "Иванова",
    "first_name": "Мария",
    "middle_name": "Петровна",
    "birth_date": date(1985, 3, 15),
    "inn": "500100732259",
    "position": "Бухгалтер",
    "enp": _ENP_BASE + luhn.calc_check_digit(_ENP_BASE),
    "email": "ivanova@example.ru",
}
_HINTS: dict[str, str] = {
    "last_name": "Русскими буквами; допускаются дефис, пробел и апостроф",
    "first_name": "Русскими буквами",
    "middle_name": "Если есть; иначе оставьте пустым",
    "birth_date": "ДД.ММ.ГГГГ, например 15.03.1985",
    "inn": "12 цифр, если известен",
    "position": "Как в штатном расписании",
    "enp": "16 цифр — единый номер полиса ОМС; столбец в текстовом формате",
    "email": "Адрес электронной почты сотрудника",
}
_TEXT_FIELDS = ("inn", "enp")
_WIDTHS = {"birth_date": 16, "enp": 26, "email": 28, "position": 24}
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")


def _example_text(name: str) -> str:
    value = EXAMPLE[name]
    return f"{value:%d.%m.%Y}" if isinstance(value, date) else str(value)


def template_xlsx() -> bytes:
    """Sheet «Сотрудники» (headers + example row), sheet «Как заполнить» (what each column takes)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Сотрудники"
    fields = list(COLUMNS)
    sheet.append([neutralise(COLUMNS[f]) for f in fields])
    sheet.append([neutralise(EXAMPLE[f]) for f in fields])
    for i, name in enumerate(fields, start=1):
        letter = get_column_letter(i)
        header = sheet.cell(row=1, column=i)
        header.font, header.fill = Font(bold=True), _HEADER_FILL
        sheet.column_dimensions[letter].width = _WIDTHS.get(name, 18)
        if name in _TEXT_FIELDS:
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=i).number_format = "@"
        if name == "birth_date":
            sheet.column_dimensions[letter].number_format = "DD.MM.YYYY"
            sheet.cell(row=2, column=i).number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "A2"
    _write_hints(workbook.create_sheet("Как заполнить"))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write_hints(sheet) -> None:
    sheet.append(["Столбец", "Обязательный", "Что указать"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for name, header in COLUMNS.items():
        sheet.append([neutralise(header), "нет" if name in OPTIONAL_FIELDS else "да", neutralise(_HINTS[name])])
    sheet.append([])
    sheet.append(["Заголовки — в первой строке, по одному сотруднику в строке; пример во второй строке "
                  "замените своими данными. Не более 10 000 сотрудников и 5 МБ."])
    for letter, width in zip("ABC", (26, 14, 70), strict=True):
        sheet.column_dimensions[letter].width = width


def template_csv() -> bytes:
    """UTF-8 with BOM, «;»-separated, CRLF: headers and the example row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in COLUMNS.values()])
    writer.writerow([neutralise(_example_text(f)) for f in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
