"""Raw cell values (str from CSV; str, number, date, datetime or None from XLSX) -> text or dates.

Spreadsheets store numbers as binary floats: a 16-digit ЕНП typed into a «General» cell loses its
last digit, and a leading zero of an ИНН disappears. Numbers are therefore turned into digits
exactly as stored, and the checks add a hint when a numeric cell fails.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from openpyxl.utils.datetime import from_excel

from forms.dates import format_ru_date, parse_iso_date, parse_ru_date

# A date exported with a midnight time («15.03.1985 0:00:00», «1985-03-15 00:00:00») is still a date.
_MIDNIGHT = re.compile(r"\s+0?0:00(:00)?$")
_SHAPED = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$|^\d{4}-\d{1,2}-\d{1,2}$")
# Excel's calendar: serial 1 is 1900-01-01; 2958465 is 9999-12-31.
_SERIAL_RANGE = (1, 2958465)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_text(value: object) -> str:
    """The cell as the user would read it, with whitespace runs collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return format_ru_date(value if not isinstance(value, datetime) else value.date())
    return " ".join(str(value).split())


def parse_date_text(text: str) -> date | None:
    """ДД.ММ.ГГГГ, Д.М.ГГГГ or ГГГГ-ММ-ДД (optionally with a midnight time) -> date."""
    bare = _MIDNIGHT.sub("", text.strip())
    return parse_ru_date(bare) or parse_iso_date(bare)


def looks_like_date(text: str) -> bool:
    """Shaped like a date even when no such day exists (31.02.1990)."""
    return bool(_SHAPED.match(_MIDNIGHT.sub("", text.strip())))


def as_date(value: object, epoch: datetime | None) -> date | None:
    """A real date cell, an Excel serial number (XLSX only: `epoch` given) or a date as text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if is_number(value):
        if epoch is None or not (_SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]):
            return None
        converted = from_excel(value, epoch=epoch)
        return converted.date() if isinstance(converted, datetime) else None
    if isinstance(value, str):
        return parse_date_text(value)
    return None
