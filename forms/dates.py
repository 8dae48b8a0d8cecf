"""Dates as people type them (ДД.ММ.ГГГГ, months as ММ.ГГГГ) and as the API carries them (ISO).

Pages show and accept ДД.ММ.ГГГГ; the JSON API and stored data use ISO `YYYY-MM-DD`. The
converters never raise: a value that is not a date is handed back unchanged so that validation can
point at the field with a precise message instead of the page failing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from engine.clock import utcnow

# Moscow has had a fixed UTC+3 offset since 2014; a fixed offset needs no tz database.
MOSCOW = timezone(timedelta(hours=3), "MSK")

_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RU_MONTH = re.compile(r"^(\d{1,2})\.(\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def today_moscow() -> date:
    """The calendar date in Moscow: what «today» means for the service's users."""
    return utcnow().astimezone(MOSCOW).date()



def moscow_midnight(day: date) -> datetime:
    """The UTC moment a Moscow calendar day begins (periods of figures are whole Moscow days)."""
    return datetime.combine(day, time(0), MOSCOW).astimezone(UTC)


def _make_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_ru_date(text: str) -> date | None:
    """«05.03.1985» (also «5.3.1985») -> date; None for anything else, including 31.02.2020."""
    m = _RU_DATE.match(text.strip())
    return _make_date(m[3], m[2], m[1]) if m else None


def parse_iso_date(text: str) -> date | None:
    """Strict `YYYY-MM-DD` -> date; None otherwise."""
    m = _ISO_DATE.match(text.strip())
    return _make_date(m[1], m[2], m[3]) if m else None


def looks_like_date(text: str) -> bool:
    """True for something shaped like a date (either style) even if no such day exists."""
    t = text.strip()
    return bool(_RU_DATE.match(t) or _ISO_DATE.match(t))


def looks_like_iso_date(text: str) -> bool:
    """True for `NNNN-NN-NN` even if no such day exists (2023-02-29)."""
    return bool(_ISO_DATE.match(text.strip()))


def format_ru_date(value: date | str) -> str:
    """date or ISO string -> «ДД.ММ.ГГГГ»; a string that is not an ISO date is returned as is."""
    if isinstance(value, str):
        parsed = parse_iso_date(value)
        if parsed is None:
            return value
        value = parsed
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def ru_to_iso(text: str) -> str:
    """Page input -> API value. ISO input is accepted as well; anything else comes back trimmed."""
    parsed = parse_ru_date(text) or parse_iso_date(text)
    return parsed.isoformat() if parsed else text.strip()


def iso_month_to_ru(value: str) -> str:
    """«2025-03» -> «03.2025»; other strings unchanged."""
    m = _ISO_MONTH.match(value.strip())
    return f"{m[2]}.{m[1]}" if m else value


def ru_month_to_iso(text: str) -> str:
    """«03.2025» (or «3.2025», or already «2025-03») -> «2025-03»; other strings come back trimmed."""
    t = text.strip()
    m = _RU_MONTH.match(t)
    if m and 1 <= int(m[1]) <= 12:
        return f"{m[2]}-{int(m[1]):02d}"
    return t


def parse_iso_month(text: str) -> date | None:
    """«2025-03» -> date(2025, 3, 1); None otherwise."""
    m = _ISO_MONTH.match(text.strip())
    return _make_date(m[1], m[2], "1") if m else None


def add_years(d: date, years: int) -> date:
    """Same day `years` later; 29 February falls back to 28 February (ГК РФ ст. 192)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def month_bounds(first_day: date) -> tuple[date, date]:
    """First and last day of the month that `first_day` belongs to."""
    start = first_day.replace(day=1)
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, next_month - timedelta(days=1)
