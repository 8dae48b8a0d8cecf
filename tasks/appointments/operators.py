"""Service-task operators of workflows/appointment.bpmn: book, move and cancel at the clinic, tell the citizen.

The clinic calls are retried like the registry operators (tasks/registries/operators.py): an outage of
the clinic's system is a retryable error with practically unlimited attempts, so the booking waits
and is confirmed when the clinic is back, instead of failing the citizen. Each call is safe to repeat:
the clinic books under our reference (the booking number, or number and new slot for a move) and
gives the same booking for the same reference, and cancelling what it no longer has is no error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from engine.context import get_services
from engine.operators import OperatorError, current_call_id, operator, tune_operator
from tasks.cases.notice_delivery import DeliveryFailed, applicant, deliver
from tasks.cases.operators.certificates import app_config
from tasks.config import MAIL_RETRY, REGISTRY_RETRY, AppConfig
from tasks.registries.client import RegistryProtocolError, RegistryUnavailable
from tasks.registries.operators import operator_timeout, registry_client

from . import clinic, notices
from .booking import find, release
from .models import Appointment

CLINIC_OPERATORS = ("appointment.book", "appointment.move", "appointment.cancel")
# Registered before any configuration exists; configure() gives them the installed one's values.
OPERATOR_TIMEOUT = 60.0

EVENTS = ("booked", "failed", "expired", "moved", "move_failed", "cancelled", "reminder")


def configure(config: AppConfig) -> None:
    """The clinic calls wait out an outage as the registry calls do; the notice retries as mail does."""
    for name in CLINIC_OPERATORS:
        tune_operator(name, retry=config.registry_retry, timeout=operator_timeout(config.registry_client))
    tune_operator("appointment.notify", retry=config.mail_retry)


def _clinic_call(func: Any, *args: Any) -> Any:
    try:
        return func(registry_client(), *args)
    except RegistryUnavailable as exc:
        raise OperatorError(exc.code, str(exc), retryable=True) from exc
    except RegistryProtocolError as exc:
        raise OperatorError("registry_protocol_error", str(exc), retryable=False) from exc


def _row(number: str) -> Appointment:
    with get_services().database.session() as s:
        row = find(s, number)
        if row is None:
            raise OperatorError("unknown_appointment", f"appointment {number} does not exist", retryable=False)
        s.expunge(row)
        return row


@operator("appointment.book", retry=REGISTRY_RETRY, on_exhausted="incident", timeout=OPERATOR_TIMEOUT)
def book(number: str) -> dict[str, Any]:
    """{booked: true, booking_id, slot} or {booked: false, reason, next_slots} when the clinic's slot was taken."""
    row = _row(number)
    try:
        booked = _clinic_call(clinic.book, row.slot_id, number)
    except clinic.SlotTaken as exc:
        with get_services().database.session() as s:
            release(s, row.slot_id)
        return {"booked": False, "reason": exc.code, "next_slots": exc.next_slots[:5]}
    with get_services().database.session() as s:
        s.execute(update(Appointment).where(Appointment.id == row.id)
                  .values(clinic_booking_id=booked.booking_id, slot=booked.slot))
    return {"booked": True, "booking_id": booked.booking_id, "slot": booked.slot}


@operator("appointment.move", retry=REGISTRY_RETRY, on_exhausted="incident", timeout=OPERATOR_TIMEOUT)
def move(number: str, slot_id: str) -> dict[str, Any]:
    """Book the new slot, then cancel the old booking: {moved: true, slot} or {moved: false, reason, next_slots}."""
    row = _row(number)
    if row.slot_id == slot_id:  # a repeated job after the move was stored
        return {"moved": True, "slot": row.slot}
    try:
        booked = _clinic_call(clinic.book, slot_id, f"{number}:{slot_id}")
    except clinic.SlotTaken as exc:
        with get_services().database.session() as s:
            release(s, slot_id)
        return {"moved": False, "reason": exc.code, "next_slots": exc.next_slots[:5]}
    if row.clinic_booking_id:
        _clinic_call(clinic.cancel, row.clinic_booking_id)
    starts_at = datetime.fromisoformat(booked.slot["starts_at"]).astimezone(UTC)  # SQLite keeps no offset
    with get_services().database.session() as s:
        s.execute(update(Appointment).where(Appointment.id == row.id).values(
            slot_id=slot_id, slot=booked.slot, starts_at=starts_at, clinic_booking_id=booked.booking_id))
        release(s, row.slot_id)
    return {"moved": True, "slot": booked.slot}


@operator("appointment.cancel", retry=REGISTRY_RETRY, on_exhausted="incident", timeout=OPERATOR_TIMEOUT)
def cancel(number: str) -> dict[str, Any]:
    """Cancel the clinic's booking and free our hold of the slot."""
    row = _row(number)
    if row.clinic_booking_id:
        _clinic_call(clinic.cancel, row.clinic_booking_id)
    with get_services().database.session() as s:
        release(s, row.slot_id)
    return {"cancelled": True}


@operator("appointment.notify", retry=MAIL_RETRY, on_exhausted="incident", timeout=60)
def notify(number: str, event: str, slot: dict[str, Any] | None = None,
           next_slots: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Tell the citizen about their booking (`event`: booked, failed, expired, moved, move_failed, cancelled, reminder)
    in the portal, by e-mail and, if they opted in, by SMS; once per outbox call however often it runs."""
    if event not in EVENTS:
        raise OperatorError("bad_event", f"unknown event {event!r}", retryable=False)
    db = get_services().database
    row = _row(number)
    with db.session() as s:
        who = applicant(s, row.owner_id)
    notice = notices.render(app_config(), event, number=number, name=who.name, slot=slot or row.slot,
                            organization=row.organization, certificate_number=row.certificate_number,
                            next_slots=next_slots or [])
    try:
        deliver(db, app_config(), call_id=current_call_id(), who=who, notice=notice, number=number,
                instance_id=row.instance_id)
    except DeliveryFailed as exc:
        raise OperatorError(exc.code, str(exc)) from exc
    return {"sent_to": who.email, "event": event}
