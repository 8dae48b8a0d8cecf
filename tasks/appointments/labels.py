"""Booking statuses and their Russian words, and the booking number as people type it."""

from __future__ import annotations

import re

# The booking's state is its process instance's status (set by workflows/appointment.bpmn).
STATUS_LABELS: dict[str, str] = {
    "pending": "Ожидает подтверждения клиники",
    "confirmed": "Подтверждена",
    "moving": "Переносится",
    "cancelling": "Отменяется",
    "cancelled": "Отменена",
    "failed": "Время занято",
    "expired": "Клиника не подтвердила",
    "visited": "Приём состоялся",
}
# States in which the citizen may still cancel or move the booking (until the cut-off before the visit).
CHANGEABLE = frozenset({"confirmed"})

# Z-2026-000017 («запись»); lowercase, spaces and «№» are accepted.
_NUMBER = re.compile(r"^[Zz]-(\d{4})-(\d{1,6})$")


def format_number(year: int, value: int) -> str:
    return f"Z-{year}-{value:06d}"


def number_of(text: str) -> str | None:
    """The canonical booking number of what was typed, or None when it is not one."""
    compact = "".join(str(text).split()).lstrip("№")
    match = _NUMBER.match(compact)
    return format_number(int(match[1]), int(match[2])) if match else None


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")
