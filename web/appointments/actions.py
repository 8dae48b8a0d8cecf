"""What the appointment pages and API share: the booking service wired to this app, and reading a booking.

Both surfaces call these, so a booking is checked, held and refused the same way wherever it came from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort

from engine.errors import DataValidationError, FieldError
from forms.dates import today_moscow
from tasks.appointments.booking import Clinics, find, free_slots
from tasks.appointments.labels import number_of
from tasks.appointments.models import Appointment

from ..cases import access
from ..extensions import db
from ..security import current_actor
from ..services import services

MAX_DAYS = 14


def clinics() -> Clinics:
    s = services()
    return Clinics(access.registry_client(), s.redis, s.sla, s.runtime, s.database)


def own_appointment(number: str) -> Appointment:
    """The citizen's own booking; anyone else's (or none) is a 404, as if it did not exist."""
    canonical = number_of(number)
    row = find(db.session, canonical) if canonical else None
    actor = current_actor()
    if row is None or actor is None or row.owner_id != actor.id:
        abort(404)
    return row


def organizations() -> list[dict[str, Any]]:
    """The medical organisations that take bookings (accredited, licence in force), from the register.

    Raises RegistryUnavailable when the register cannot answer."""
    answer = access.registry_client().get("mo", "/mo/organizations") or {}
    today = today_moscow().isoformat()
    return [o for o in answer.get("organizations", []) if o.get("accredited") and o.get("specialties")
            and (not o.get("license_valid_to") or o["license_valid_to"] >= today)]


def slot_query(ogrn: Any, specialty: Any, day: Any, days: int = 1) -> tuple[str, str, date]:
    """Check the slot search's parameters (DataValidationError with each problem at its field)."""
    errors = []
    ogrn = ogrn.strip() if isinstance(ogrn, str) else ""
    specialty = specialty.strip() if isinstance(specialty, str) else ""
    if not (len(ogrn) == 13 and ogrn.isdigit()):
        errors.append(FieldError("ogrn", "format", "Укажите ОГРН медицинской организации: 13 цифр."))
    if not specialty:
        errors.append(FieldError("specialty", "required", "Укажите специальность врача."))
    parsed = day if isinstance(day, date) else None
    if parsed is None:
        try:
            parsed = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            parsed = None
    if parsed is None:
        errors.append(FieldError("date", "format", "Укажите дату приёма."))
    elif parsed < today_moscow():
        errors.append(FieldError("date", "past", "Дата приёма не может быть в прошлом."))
    if not 1 <= days <= MAX_DAYS:
        errors.append(FieldError("days", "range", f"Число дней — от 1 до {MAX_DAYS}."))
    if errors:
        raise DataValidationError("slot query is invalid", errors)
    assert parsed is not None
    return ogrn, specialty, parsed


def search_slots(ogrn: str, specialty: str, day: date, days: int = 1) -> list[dict[str, Any]]:
    """Free slots (RegistryUnavailable when the clinic cannot answer now)."""
    return free_slots(clinics(), db.session, ogrn, specialty, day, days)
