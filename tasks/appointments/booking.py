"""Booking a doctor: choosing a slot, checking the certificate, holding the slot, and the citizen's changes.

A booking is a process instance of workflows/appointment.bpmn (business key: the booking number),
started in the same transaction as its row and its slot hold. The hold (a primary key on the slot)
decides a race between two citizens at once; the clinic is called afterwards by the process's service
task, retried through an outage, so the citizen gets a number at once and the confirmation when the
clinic answers. Cancelling and moving are the BPMN message `appointment_change` to the waiting
instance; they are refused here (409) after the cut-off before the visit (`appointment_change_cutoff`
in workflows/sla.toml) and while the process is still busy with the clinic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from engine.db import Database
from engine.errors import DataValidationError, FieldError, NotFound, UndeliverableMessage
from engine.models import ProcessInstance
from engine.runtime import InstanceInfo, Runtime
from engine.sla import SlaRegistry
from forms.coverage import PolicyTerm, coverage_gap
from forms.dates import format_ru_date
from tasks.cases.models.cases import Application, Certificate
from tasks.cases.numbering import next_counter_value
from tasks.registries.client import RegistryClient, RegistryUnavailable

from . import clinic
from .labels import CHANGEABLE, format_number, status_label
from .models import Appointment, AppointmentCounter, AppointmentSlotHold

PROCESS = "appointment"
MESSAGE = "appointment_change"
CUTOFF = "appointment_change_cutoff"
SLOTS_AHEAD = 14  # days of free slots offered instead of a taken one
NEXT_SLOTS = 5
# Slots the portal showed are remembered for a day, so a booking can be accepted (and wait) while the
# clinic is down: the slot's time is needed to check the certificate before the clinic confirms it.
SLOT_CACHE_SECONDS = 86400


class ClinicUnavailable(Exception):
    """The clinic cannot answer now and the slot is not known from an earlier listing (503)."""


class BookingRefused(Exception):
    """409: the slot is taken (with the next free ones to offer), or the booking cannot change now."""

    def __init__(self, code: str, message: str, next_slots: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.next_slots = next_slots or []


@dataclass
class Clinics:
    """What booking needs from outside: the clinics' client, a cache of listed slots, the SLA catalogue."""

    client: RegistryClient
    redis: Redis
    sla: SlaRegistry
    runtime: Runtime
    db: Database
    _organizations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def organization(self, ogrn: str) -> dict[str, Any]:
        """Name, address and phone from the register of medical organisations (just the ОГРН when it is down)."""
        if ogrn not in self._organizations:
            try:
                found = self.client.get("mo", f"/mo/organizations/{ogrn}")
            except RegistryUnavailable:
                return {"ogrn": ogrn, "short_name": ogrn}
            if found is None:
                return {"ogrn": ogrn, "short_name": ogrn}
            self._organizations[ogrn] = {k: found.get(k) for k in ("ogrn", "short_name", "name", "address", "phone")}
        return self._organizations[ogrn]

    def remember(self, slots: list[dict[str, Any]]) -> None:
        if slots:
            with self.redis.pipeline() as pipe:
                for s in slots:
                    pipe.set(_cache_key(s["id"]), json.dumps(s, ensure_ascii=False), ex=SLOT_CACHE_SECONDS)
                pipe.execute()

    def slot(self, slot_id: str) -> dict[str, Any]:
        """The slot, fresh from the clinic (with `free`), or as listed earlier when the clinic is down."""
        try:
            found = clinic.slot(self.client, slot_id)
        except RegistryUnavailable as exc:
            cached = self.redis.get(_cache_key(slot_id))
            if cached is None:
                raise ClinicUnavailable(slot_id) from exc
            return {**json.loads(cached), "free": True, "unconfirmed": True}
        if found is None:
            raise DataValidationError("unknown slot", [FieldError(
                "slot_id", "not_found", "Такого времени приёма нет в расписании. Выберите время из списка.")])
        return found


def _cache_key(slot_id: str) -> str:
    return f"appointments:slot:{slot_id}"


def held_slots(session: Session, slot_ids: list[str]) -> set[str]:
    if not slot_ids:
        return set()
    return set(session.scalars(select(AppointmentSlotHold.slot_id).where(AppointmentSlotHold.slot_id.in_(slot_ids))))


def free_slots(clinics: Clinics, session: Session, ogrn: str, specialty: str, day: date,
               days: int = 1) -> list[dict[str, Any]]:
    """The clinic's free slots without those our bookings hold but the clinic has not confirmed yet."""
    slots = clinic.free_slots(clinics.client, ogrn, specialty, day, days)
    held = held_slots(session, [s["id"] for s in slots])
    slots = [s for s in slots if s["id"] not in held]
    clinics.remember(slots)
    return slots


def next_slots(clinics: Clinics, session: Session, slot: dict[str, Any]) -> list[dict[str, Any]]:
    """The next free slots of the same specialty at the same organisation, to offer instead of a taken one."""
    day = datetime.fromisoformat(slot["starts_at"]).date()
    try:
        found = free_slots(clinics, session, slot["ogrn"], slot["specialty"], day, SLOTS_AHEAD)
    except RegistryUnavailable:
        return []
    return [s for s in found if s["id"] != slot["id"]][:NEXT_SLOTS]


def ready_certificates(session: Session, owner_id: int) -> list[Certificate]:
    """The citizen's own certificates that are in force (not revoked), newest first."""
    query = (select(Certificate).join(Application, Application.id == Certificate.application_id)
             .where(Application.owner_id == owner_id, Certificate.kind == "certificate",
                    Certificate.revoked.is_(False))
             .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))
    return list(session.scalars(query))


def _policy_of(session: Session, runtime: Runtime, app: Application) -> dict[str, Any]:
    """The policy the certificate was issued on, as the case's process recorded it from ЕРЗЛ."""
    if app.instance_id is None:
        return {}
    data = runtime.workflow_data(app.instance_id, session)
    policy = data.get("policy") or data.get("policy_check") or {}
    return policy if isinstance(policy, dict) else {}


def checked_certificate(session: Session, runtime: Runtime, owner_id: int, number: str, day: date) -> Certificate:
    """The citizen's certificate if it covers `day` with a policy in force that day; else DataValidationError
    (422) saying exactly why, at the field `certificate_number`."""
    def refuse(code: str, message: str) -> DataValidationError:
        return DataValidationError("certificate refused", [FieldError("certificate_number", code, message)])

    cert = session.scalar(select(Certificate).where(Certificate.number == (number or "").strip(),
                                                    Certificate.kind == "certificate"))
    app = session.get(Application, cert.application_id) if cert is not None else None
    if cert is None or app is None or app.owner_id != owner_id:
        raise refuse("not_found", "Справка с таким номером не найдена среди ваших справок.")
    if cert.revoked:
        raise refuse("revoked", f"Справка № {cert.number} отозвана. Приложите другую справку.")
    if not cert.period_from <= day <= cert.period_to:
        raise refuse("period_not_covered", f"Справка № {cert.number} подтверждает полис с "
                     f"{format_ru_date(cert.period_from)} по {format_ru_date(cert.period_to)} и не покрывает "
                     f"дату приёма {format_ru_date(day)}. Выберите другую справку или другую дату.")
    gap = coverage_gap(PolicyTerm.of(_policy_of(session, runtime, app)), day, day)
    if gap is not None:
        raise refuse("policy_not_active", f"На дату приёма {format_ru_date(day)} {gap}: справка № {cert.number} "
                     "не подходит. Оформите новую справку.")
    return cert


def _passed(slot: dict[str, Any]) -> bool:
    """A slot that has begun (one remembered from a listing while the clinic is down may have)."""
    return datetime.fromisoformat(slot["starts_at"]) <= utcnow()


def _visit_day(slot: dict[str, Any]) -> date:
    return datetime.fromisoformat(slot["starts_at"]).date()


@dataclass(frozen=True)
class Booked:
    number: str
    status: str


def book(clinics: Clinics, *, owner_id: int, slot_id: Any, certificate_number: Any) -> Booked:
    """Hold the slot and start the booking's process (which books it at the clinic), in one transaction.

    Raises DataValidationError (422: bad fields, a certificate that does not cover the date),
    BookingRefused (409: the slot is taken, with the next free ones), ClinicUnavailable (503).
    """
    errors = []
    if not isinstance(slot_id, str) or not slot_id.strip():
        errors.append(FieldError("slot_id", "required", "Выберите время приёма."))
    if not isinstance(certificate_number, str) or not certificate_number.strip():
        errors.append(FieldError("certificate_number", "required", "Выберите справку, которую приложить к записи."))
    if errors:
        raise DataValidationError("booking is invalid", errors)
    slot = clinics.slot(slot_id.strip())
    db, runtime = clinics.db, clinics.runtime
    with db.session() as s:
        if not slot.get("free") or held_slots(s, [slot["id"]]) or _passed(slot):
            raise BookingRefused("slot_taken", "Это время уже занято. Выберите другое время.",
                                 next_slots(clinics, s, slot))
        cert = checked_certificate(s, runtime, owner_id, certificate_number, _visit_day(slot))
        cert_number = cert.number
    organization = clinics.organization(slot["ogrn"])
    now = utcnow()
    with db.session() as s:
        number = format_number(now.year, next_counter_value(s, AppointmentCounter, now.year))
    clean_slot = {k: v for k, v in slot.items() if k not in ("free", "unconfirmed")}

    def attach(s: Session, info: InstanceInfo) -> None:
        row = Appointment(number=number, owner_id=owner_id, instance_id=info.id, certificate_number=cert_number,
                          ogrn=slot["ogrn"], specialty=slot["specialty"], slot_id=slot["id"],
                          starts_at=datetime.fromisoformat(slot["starts_at"]).astimezone(UTC), slot=clean_slot,
                          organization=organization, created_at=now)
        s.add(row)
        s.flush()
        s.add(AppointmentSlotHold(slot_id=slot["id"], appointment_id=row.id, created_at=now))
        s.flush()  # a slot another booking holds fails here, and the whole start with it
        journal.record(s, info.id, "appointment_booked", actor=f"user:{owner_id}",
                       details={"appointment": number, "certificate": cert_number})
        case_instance = s.scalar(select(Application.instance_id).join(
            Certificate, Certificate.application_id == Application.id).where(Certificate.number == cert_number))
        journal.record(s, case_instance, "certificate_attached", actor=f"user:{owner_id}",
                       details={"appointment": number, "certificate": cert_number})

    appointment = {"number": number, "slot": clean_slot, "organization": organization,
                   "certificate_number": cert_number}
    try:
        info = runtime.start(PROCESS, {"appointment": appointment, "visit_at": slot["starts_at"]},
                             business_key=number, owner=str(owner_id), actor=f"user:{owner_id}", before_commit=attach)
    except IntegrityError as exc:
        with db.session() as s:
            offered = next_slots(clinics, s, slot)
        raise BookingRefused("slot_taken", "Это время только что занял другой пациент. Выберите другое время.",
                             offered) from exc
    return Booked(number, info.status or "pending")


def find(session: Session, number: str) -> Appointment | None:
    return session.scalar(select(Appointment).where(Appointment.number == number))


def status_of(session: Session, row: Appointment) -> str:
    if row.instance_id is None:
        return "pending"
    return session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == row.instance_id)) or "pending"


def change_until(sla: SlaRegistry, starts_at: datetime) -> datetime:
    """The last moment the booking may be cancelled or moved: the cut-off before the visit."""
    cutoff = sla.get(CUTOFF)
    if cutoff.delta is None:
        raise ValueError(f"{CUTOFF} must be a fixed duration")
    return aware(starts_at) - cutoff.delta


def view(session: Session, sla: SlaRegistry, row: Appointment) -> dict[str, Any]:
    """The booking as the API returns it (and the pages print it)."""
    status = status_of(session, row)
    until = change_until(sla, row.starts_at)
    actions = ["move", "cancel"] if status in CHANGEABLE and utcnow() < until else []
    slot = row.slot or {}
    return {"number": row.number, "status": status, "status_label": status_label(status),
            "organization": row.organization, "specialty": row.specialty,
            "doctor": (slot.get("doctor") or {}).get("name"), "room": slot.get("room"),
            "slot_id": row.slot_id, "starts_at": slot.get("starts_at") or aware(row.starts_at).isoformat(),
            "ends_at": slot.get("ends_at"), "certificate_number": row.certificate_number,
            "created_at": aware(row.created_at).isoformat(),
            "change_until": until.isoformat(), "actions": actions}


def list_for(session: Session, owner_id: int, limit: int = 50, offset: int = 0) -> list[Appointment]:
    """The citizen's bookings, the coming ones first by time."""
    return list(session.scalars(select(Appointment).where(Appointment.owner_id == owner_id)
                                .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
                                .limit(limit).offset(offset)))


def _changeable(clinics: Clinics, session: Session, row: Appointment) -> None:
    status = status_of(session, row)
    if status not in CHANGEABLE:
        raise BookingRefused("not_changeable", {
            "pending": "Клиника ещё не подтвердила запись. Изменить её можно после подтверждения.",
            "moving": "Запись уже переносится. Дождитесь ответа клиники.",
            "cancelling": "Запись уже отменяется.",
        }.get(status, f"Запись в состоянии «{status_label(status)}» изменить нельзя."))
    until = change_until(clinics.sla, row.starts_at)
    if utcnow() >= until:
        raise BookingRefused("too_late", "Отменить или перенести запись можно не позднее чем за "
                             f"{_cutoff_words(clinics.sla)} до приёма. Позвоните в клинику.")


def _cutoff_words(sla: SlaRegistry) -> str:
    delta = sla.get(CUTOFF).delta
    hours = int(delta.total_seconds() // 3600) if delta else 0
    if hours and delta is not None and delta.total_seconds() % 3600 == 0:
        return "2 часа" if hours == 2 else f"{hours} ч"
    minutes = int(delta.total_seconds() // 60) if delta else 0
    return f"{minutes} мин"


def own(session: Session, owner_id: int, number: str) -> Appointment:
    row = find(session, number)
    if row is None or row.owner_id != owner_id:
        raise NotFound(number)
    return row


def cancel(clinics: Clinics, *, owner_id: int, number: str) -> None:
    """Ask the booking's process to cancel it at the clinic (refused after the cut-off or while it is busy)."""
    with clinics.db.session() as s:
        row = own(s, owner_id, number)
        _changeable(clinics, s, row)
    try:
        clinics.runtime.deliver_message(MESSAGE, number, {"action": "cancel"}, actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        raise BookingRefused("not_changeable", "Запись сейчас изменить нельзя. Попробуйте через минуту.") from exc


def move(clinics: Clinics, *, owner_id: int, number: str, slot_id: Any) -> None:
    """Hold the new slot and ask the process to move the booking there (same organisation and specialty;
    the attached certificate must cover the new date too)."""
    if not isinstance(slot_id, str) or not slot_id.strip():
        raise DataValidationError("move is invalid", [FieldError("slot_id", "required", "Выберите новое время.")])
    with clinics.db.session() as s:
        row = own(s, owner_id, number)
        _changeable(clinics, s, row)
        ogrn, specialty, cert_number, row_id = row.ogrn, row.specialty, row.certificate_number, row.id
    slot = clinics.slot(slot_id.strip())
    if slot["ogrn"] != ogrn or slot["specialty"].casefold() != specialty.casefold():
        raise DataValidationError("other clinic", [FieldError(
            "slot_id", "other_doctor", "Перенести можно только на другое время в той же клинике к врачу той же "
                                       "специальности. Для другой клиники отмените запись и запишитесь заново.")])
    now = utcnow()
    with clinics.db.session() as s:
        if not slot.get("free") or held_slots(s, [slot["id"]]) or _passed(slot):
            raise BookingRefused("slot_taken", "Это время уже занято. Выберите другое время.",
                                 next_slots(clinics, s, slot))
        checked_certificate(s, clinics.runtime, owner_id, cert_number, _visit_day(slot))
    try:
        with clinics.db.session() as s:
            s.add(AppointmentSlotHold(slot_id=slot["id"], appointment_id=row_id, created_at=now))
    except IntegrityError as exc:
        with clinics.db.session() as s:
            offered = next_slots(clinics, s, slot)
        raise BookingRefused("slot_taken", "Это время только что занял другой пациент. Выберите другое время.",
                             offered) from exc
    clean_slot = {k: v for k, v in slot.items() if k not in ("free", "unconfirmed")}
    try:
        clinics.runtime.deliver_message(MESSAGE, number, {"action": "move", "slot": clean_slot},
                                        actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        with clinics.db.session() as s:
            s.execute(delete(AppointmentSlotHold).where(AppointmentSlotHold.slot_id == slot["id"]))
        raise BookingRefused("not_changeable", "Запись сейчас изменить нельзя. Попробуйте через минуту.") from exc


def release(session: Session, *slot_ids: str) -> None:
    """Free our holds of these slots (the clinic refused them, or the booking left them)."""
    if slot_ids:
        session.execute(delete(AppointmentSlotHold).where(AppointmentSlotHold.slot_id.in_(slot_ids)))
