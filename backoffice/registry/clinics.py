"""The clinics' appointment systems: doctors, their free slots, bookings and cancellations.

A stand-in for each medical organisation's own scheduling system, so the portal can book a doctor
without a real clinic. Doctors and schedules are generated deterministically from the dataset's
`medical_organizations` (each specialty gets two doctors, a morning and an afternoon shift of
30-minute slots on Russian working days, Moscow time); bookings are kept in memory while the service
runs, as a clinic's system would keep them on its side.

Endpoints (blueprint `clinic`, so `REGISTRY_FAULTS="clinic:down"` takes the clinics down)::

    GET /clinic/doctors?ogrn=&specialty=            {"doctors": [{id, name, specialty}]}
    GET /clinic/slots?ogrn=&specialty=&date=[&days=] {"slots": [slot, ...]}: the free ones, from `date`
                                                     for `days` days (1..31, default 1)
    GET /clinic/slots/<slot_id>                      slot with `free`
    POST /clinic/bookings {slot_id, reference}       200 {booking_id, reference, slot}; 409 `slot_taken`
                                                     with `next_slots`; the same reference again gets
                                                     the same booking (a retried call books once)
    DELETE /clinic/bookings/<booking_id>             200 {booking_id, cancelled: true}; 404 when unknown

    slot = {id, ogrn, specialty, doctor: {id, name}, starts_at, ends_at (ISO, +03:00), room}

A slot that has begun is never free; organisations without accreditation or with an expired licence
take no bookings (their schedule is empty).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from flask import Blueprint, current_app, request

from .dataset import Dataset
from .responses import error

clinic = Blueprint("clinic", __name__, url_prefix="/clinic")

MOSCOW = ZoneInfo("Europe/Moscow")
SLOT_MINUTES = 30
SHIFTS = ((time(9, 0), time(13, 0)), (time(14, 0), time(18, 0)))  # doctor 1 mornings, doctor 2 afternoons
HORIZON_DAYS = 60  # how far ahead the clinics open their schedules
MAX_DAYS = 31
NEXT_SLOTS = 5
_SLOT_ID = re.compile(r"^(?P<ogrn>\d{13})-(?P<doctor>\d{2})(?P<shift>\d)-(?P<day>\d{8})(?P<hm>\d{4})$")
_LAST = ("Иванов", "Смирнова", "Кузнецов", "Попова", "Васильев", "Петрова", "Соколов", "Михайлова", "Новиков",
         "Федорова", "Морозов", "Волкова", "Алексеев", "Лебедева", "Семенов", "Егорова")
_FIRST = (("Андрей", "Андреевич"), ("Елена", "Викторовна"), ("Дмитрий", "Сергеевич"), ("Ольга", "Николаевна"),
          ("Игорь", "Павлович"), ("Наталья", "Ивановна"), ("Алексей", "Михайлович"), ("Татьяна", "Юрьевна"))


@dataclass(frozen=True)
class Doctor:
    id: str  # <ogrn>-<specialty index><shift>: stable while the dataset lists the same specialties
    name: str
    specialty: str
    shift: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "specialty": self.specialty}


def _name(ogrn: str, specialty: str, shift: int) -> str:
    digest = hashlib.sha256(f"{ogrn}:{specialty}:{shift}".encode()).digest()
    last = _LAST[digest[0] % len(_LAST)]
    first, middle = _FIRST[digest[1] % len(_FIRST)]
    female = middle.endswith("вна")
    if female and not last.endswith("а"):
        last += "а"
    elif not female and last.endswith("а"):
        last = last[:-1]
    return f"{last} {first} {middle}"


def doctors(org: dict) -> list[Doctor]:
    """Two doctors per specialty of the organisation, in the dataset's order."""
    out = []
    for index, specialty in enumerate(org.get("specialties") or []):
        for shift in range(len(SHIFTS)):
            out.append(Doctor(f"{org['ogrn']}-{index:02d}{shift}", _name(org["ogrn"], specialty, shift), specialty,
                              shift))
    return out


def takes_bookings(org: dict, day: date) -> bool:
    valid_to = org.get("license_valid_to")
    return bool(org.get("accredited")) and (not valid_to or date.fromisoformat(valid_to) >= day)


_calendar = holidays.country_holidays("RU")


def working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _calendar


def _slot(org: dict, doctor: Doctor, starts: datetime) -> dict[str, Any]:
    return {"id": f"{doctor.id}-{starts:%Y%m%d%H%M}", "ogrn": org["ogrn"], "specialty": doctor.specialty,
            "doctor": {"id": doctor.id, "name": doctor.name},
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=SLOT_MINUTES)).isoformat(),
            "room": f"каб. {200 + int(doctor.id[-3:-1]) * 2 + doctor.shift}"}


def day_slots(org: dict, doctor: Doctor, day: date) -> list[dict[str, Any]]:
    """Every slot of the doctor's shift on `day` (booked or not), or none on a day off."""
    if not working_day(day) or not takes_bookings(org, day):
        return []
    begin, end = SHIFTS[doctor.shift]
    at = datetime.combine(day, begin, MOSCOW)
    out = []
    while at.time() < end:
        out.append(_slot(org, doctor, at))
        at += timedelta(minutes=SLOT_MINUTES)
    return out


class BookingBook:
    """The bookings the clinics hold: slot -> booking, safe for the service's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_slot: dict[str, dict[str, str]] = {}
        self._by_id: dict[str, str] = {}
        self._seq = 0

    def taken(self, slot_id: str) -> bool:
        with self._lock:
            return slot_id in self._by_slot

    def book(self, slot_id: str, reference: str) -> tuple[dict[str, str] | None, bool]:
        """(booking, created); (None, False) when someone else holds the slot."""
        with self._lock:
            held = self._by_slot.get(slot_id)
            if held is not None:
                return (held, False) if held["reference"] == reference else (None, False)
            self._seq += 1
            booking = {"booking_id": f"CB-{self._seq:07d}", "reference": reference}
            self._by_slot[slot_id] = booking
            self._by_id[booking["booking_id"]] = slot_id
            return booking, True

    def cancel(self, booking_id: str) -> bool:
        with self._lock:
            slot_id = self._by_id.pop(booking_id, None)
            if slot_id is None:
                return False
            self._by_slot.pop(slot_id, None)
            return True


def _data() -> Dataset:
    return current_app.extensions["registry_dataset"]


def _book() -> BookingBook:
    return current_app.extensions.setdefault("clinic_bookings", BookingBook())


def _now() -> datetime:
    return datetime.now(UTC)


def _org(ogrn: str) -> dict | None:
    return _data().medical_by_ogrn.get(ogrn) if re.fullmatch(r"\d{13}", ogrn or "") else None


def find_slot(slot_id: str) -> tuple[dict, Doctor, dict[str, Any]] | None:
    """The organisation, doctor and slot a slot id names, if the schedule has such a slot."""
    match = _SLOT_ID.match(slot_id or "")
    org = _org(match["ogrn"]) if match else None
    if match is None or org is None:
        return None
    doctor = next((d for d in doctors(org) if d.id == f"{match['ogrn']}-{match['doctor']}{match['shift']}"), None)
    try:
        starts = datetime.strptime(match["day"] + match["hm"], "%Y%m%d%H%M").replace(tzinfo=MOSCOW)
    except ValueError:
        return None
    if doctor is None:
        return None
    slot = next((s for s in day_slots(org, doctor, starts.date()) if s["id"] == slot_id), None)
    return (org, doctor, slot) if slot is not None else None


def free_slots(org: dict, specialty: str | None, first: date, days: int, doctor_id: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Free slots from `first` on, in time order (a doctor's, a specialty's or all of the organisation's)."""
    now, book = _now(), _book()
    last = min(first + timedelta(days=days - 1), _now().astimezone(MOSCOW).date() + timedelta(days=HORIZON_DAYS))
    chosen = [d for d in doctors(org) if (not specialty or d.specialty.casefold() == specialty.casefold())
              and (not doctor_id or d.id == doctor_id)]
    out: list[dict[str, Any]] = []
    day = first
    while day <= last:
        found = [s for d in chosen for s in day_slots(org, d, day)
                 if datetime.fromisoformat(s["starts_at"]) > now and not book.taken(s["id"])]
        out.extend(sorted(found, key=lambda s: (s["starts_at"], s["doctor"]["id"])))
        if limit is not None and len(out) >= limit:
            return out[:limit]
        day += timedelta(days=1)
    return out


@clinic.get("/doctors")
def list_doctors():
    org = _org(request.args.get("ogrn", ""))
    if org is None:
        return error(404, "not_found", "Медицинская организация не найдена.")
    specialty = (request.args.get("specialty") or "").strip().casefold()
    return {"doctors": [d.to_dict() for d in doctors(org) if not specialty or d.specialty.casefold() == specialty]}


@clinic.get("/slots")
def list_slots():
    org = _org(request.args.get("ogrn", ""))
    if org is None:
        return error(404, "not_found", "Медицинская организация не найдена.")
    try:
        first = date.fromisoformat(request.args.get("date", ""))
        days = int(request.args.get("days", "1"))
    except ValueError:
        return error(400, "bad_request", "Укажите дату в виде ГГГГ-ММ-ДД и число дней от 1 до 31.")
    if not 1 <= days <= MAX_DAYS:
        return error(400, "bad_request", "Укажите число дней от 1 до 31.")
    specialty = (request.args.get("specialty") or "").strip()
    return {"slots": free_slots(org, specialty, first, days, request.args.get("doctor") or None)}


@clinic.get("/slots/<slot_id>")
def show_slot(slot_id: str):
    found = find_slot(slot_id)
    if found is None:
        return error(404, "not_found", "Такого приёма в расписании нет.")
    slot = found[2]
    free = datetime.fromisoformat(slot["starts_at"]) > _now() and not _book().taken(slot_id)
    return {**slot, "free": free}


def _next(org: dict, doctor: Doctor, slot: dict[str, Any]) -> list[dict[str, Any]]:
    day = datetime.fromisoformat(slot["starts_at"]).date()
    return free_slots(org, doctor.specialty, day, MAX_DAYS, limit=NEXT_SLOTS)


@clinic.post("/bookings")
def book():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    slot_id, reference = body.get("slot_id"), body.get("reference")
    if not isinstance(slot_id, str) or not isinstance(reference, str) or not reference.strip():
        return error(400, "bad_request", "Нужны поля slot_id и reference.")
    found = find_slot(slot_id)
    if found is None:
        return error(404, "not_found", "Такого приёма в расписании нет.")
    org, doctor, slot = found
    if datetime.fromisoformat(slot["starts_at"]) <= _now():
        return _taken(org, doctor, slot, "slot_passed", "Время этого приёма уже прошло.")
    booking, _created = _book().book(slot_id, reference.strip())
    if booking is None:
        return _taken(org, doctor, slot, "slot_taken", "Это время уже занято.")
    return {**booking, "slot": slot}


def _taken(org: dict, doctor: Doctor, slot: dict[str, Any], code: str, message: str):
    """409 in the usual error shape, with the doctor's specialty's next free slots to offer instead."""
    return {"error": {"code": code, "message": message}, "next_slots": _next(org, doctor, slot)}, 409


@clinic.delete("/bookings/<booking_id>")
def cancel(booking_id: str):
    if not _book().cancel(booking_id):
        return error(404, "not_found", "Такой записи нет.")
    return {"booking_id": booking_id, "cancelled": True}
