"""UTC time in one place, so that SQLite (naive) and PostgreSQL (aware) values compare alike."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def parse_iso(value: str) -> datetime:
    """The moment in UTC: SQLite keeps neither the offset nor the zone of what it stores, so a value written
    with another offset (a timer at 10:00+03:00) must be turned to UTC before it is stored."""
    dt = datetime.fromisoformat(value)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
