"""How dates, periods, names and sizes are written in Russian documents.

Kept apart from the templates so every document (and the tests) spells them the same way:
dates as ДД.ММ.ГГГГ, times in Moscow time, a period as «с ДД.ММ.ГГГГ по ДД.ММ.ГГГГ».
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from engine.clock import aware

DOCUMENT_TZ = ZoneInfo("Europe/Moscow")
DOCUMENT_TZ_LABEL = "МСК"
NBSP = "\u00a0"
_SHORT_ABBREVIATION = re.compile(r"(?<!\w)(\w{1,4}\.) (?=\w)")


def format_date(value: date) -> str:
    """ДД.ММ.ГГГГ; a datetime is first moved to Moscow time so the date matches the printed time."""
    if isinstance(value, datetime):
        value = moscow_time(value)
    return value.strftime("%d.%m.%Y")


def moscow_time(value: datetime) -> datetime:
    """The moment in Moscow time; naive values are UTC, as the database stores them (engine.clock)."""
    return aware(value).astimezone(DOCUMENT_TZ)


def format_datetime(value: datetime) -> str:
    """ДД.ММ.ГГГГ ЧЧ:ММ МСК: one time zone for every reader, whatever region they are in."""
    return f"{moscow_time(value):%d.%m.%Y %H:%M} {DOCUMENT_TZ_LABEL}"


def format_period(start: date, end: date | None) -> str:
    """«с 01.01.2026 по 31.12.2026»; an open end (a policy without expiry) reads «бессрочно»."""
    if end is None:
        return f"с {format_date(start)} бессрочно"
    return f"с {format_date(start)} по {format_date(end)}"


def full_name(last_name: str, first_name: str, middle_name: str | None = None) -> str:
    """Фамилия Имя Отчество, without a trailing space when there is no отчество."""
    return " ".join(part.strip() for part in (last_name, first_name, middle_name or "") if part and part.strip())


def format_size(size_bytes: int) -> str:
    """A file size as people read it: «512 байт», «245 КБ», «1,4 МБ» (decimal comma)."""
    if size_bytes < 1024:
        return f"{size_bytes} байт"
    if size_bytes < 1024 * 1024:
        return f"{round(size_bytes / 1024)} КБ"
    return f"{size_bytes / (1024 * 1024):.1f} МБ".replace(".", ",")


def keep_abbreviations_together(text: str) -> str:
    """Bind a short abbreviation to the next word («г. Москва», «Респ. Татарстан») with a no-break space,
    so that no line of a document ends with a dangling «г.»."""
    return _SHORT_ABBREVIATION.sub(lambda m: m.group(1) + NBSP, text)
