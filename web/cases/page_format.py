"""Jinja filters of the portal pages: dates, times and sizes written the way Russian documents write them.

The same functions as the PDFs use (tasks.documents.formatting), so a page and a receipt never
disagree about a time: ДД.ММ.ГГГГ ЧЧ:ММ in Moscow time, whatever zone the reader is in.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint

from engine.clock import parse_iso
from forms.dates import parse_iso_date
from tasks.documents.formatting import format_date, format_datetime, format_size

STATUS_TONES = {"ready": "success", "approved": "success", "rejected": "error", "needs_info": "warning",
                "appealed": "warning", "closed": "muted", "cancelled": "muted"}


def ru_datetime(value: datetime | str | None) -> str:
    if not value:
        return ""
    return format_datetime(parse_iso(value) if isinstance(value, str) else value)


def ru_date(value: date | datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        parsed = parse_iso_date(value)
        return format_date(parsed) if parsed else format_date(parse_iso(value))
    return format_date(value)


def file_size(value: int) -> str:
    return format_size(value)


def status_tone(status: str) -> str:
    """The badge colour of a case status (the label itself always says it in words)."""
    return STATUS_TONES.get(status, "info")


def register(bp: Blueprint) -> None:
    for function in (ru_datetime, ru_date, file_size, status_tone):
        bp.add_app_template_filter(function)
