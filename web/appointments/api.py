"""«Запись к врачу» over JSON: /api/v1/appointments.

A citizen searches free slots, books one with their own certificate, reads their bookings, cancels and
moves them; someone else's booking is a 404. 409 answers (a slot taken meanwhile) carry `next_slots`,
the next free slots to offer instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.errors import DataValidationError, NotFound
from tasks.accounts.roles import CITIZEN
from tasks.appointments.booking import BookingRefused, ClinicUnavailable, list_for, view
from tasks.appointments.booking import book as book_slot
from tasks.appointments.booking import cancel as cancel_booking
from tasks.appointments.booking import move as move_booking
from tasks.errors import ApiError
from tasks.registries.client import RegistryUnavailable

from ..api_errors import error_response, json_object
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from .actions import clinics, own_appointment, search_slots, slot_query

bp = Blueprint("appointments_api", __name__, url_prefix="/api/v1/appointments")
CLINIC_DOWN = "Расписание клиники сейчас недоступно. Попробуйте через несколько минут."


def _run(action: Any, invalid: str) -> Any:
    try:
        return action()
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", invalid, exc.fields) from exc
    except (ClinicUnavailable, RegistryUnavailable) as exc:
        raise ApiError(503, "clinic_unavailable", CLINIC_DOWN) from exc
    except NotFound as exc:
        raise ApiError(404, "not_found", "Запись не найдена.") from exc


def _refused(exc: BookingRefused) -> tuple[Response, int]:
    response = error_response(409, exc.code, exc.message)
    body = response.get_json()
    body["next_slots"] = exc.next_slots
    return jsonify(body), 409


def _view(number: str) -> dict[str, Any]:
    db.session.expire_all()
    return view(db.session, services().sla, own_appointment(number))


@bp.get("/slots")
@roles_required(CITIZEN)
def slots() -> Response:
    """?ogrn=&specialty=&date=[&days=] -> {"slots": [...]}: free slots of the organisation's doctors."""
    days = request.args.get("days", 1, type=int) or 1
    ogrn, specialty, day = _run(lambda: slot_query(request.args.get("ogrn"), request.args.get("specialty"),
                                                   request.args.get("date"), days), "Проверьте параметры поиска.")
    found = _run(lambda: search_slots(ogrn, specialty, day, days), "")
    return jsonify({"slots": found})


@bp.post("")
@roles_required(CITIZEN)
def create() -> tuple[Response, int]:
    """{slot_id, certificate_number} -> 201 {number, status, ...}; 409 slot taken; 422 certificate not covering."""
    body = json_object()
    owner_id = current_actor().id
    db.session.commit()  # the booking's own transactions follow
    try:
        booked = _run(lambda: book_slot(clinics(), owner_id=owner_id, slot_id=body.get("slot_id"),
                                        certificate_number=body.get("certificate_number")),
                      "Записаться нельзя: проверьте выбранное время и справку.")
    except BookingRefused as exc:
        return _refused(exc)
    return jsonify(_view(booked.number)), 201


@bp.get("")
@roles_required(CITIZEN)
def index() -> Response:
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    offset = max(request.args.get("offset", 0, type=int), 0)
    rows = list_for(db.session, current_actor().id, limit, offset)
    return jsonify({"items": [view(db.session, services().sla, r) for r in rows], "limit": limit, "offset": offset})


@bp.get("/<number>")
@roles_required(CITIZEN)
def show(number: str) -> Response:
    return jsonify(_view(number))


@bp.delete("/<number>")
@roles_required(CITIZEN)
def delete(number: str) -> Response | tuple[Response, int]:
    """Cancel the booking (until the cut-off before the visit): 200 with status `cancelling`, then `cancelled`."""
    row = own_appointment(number)
    owner_id, canonical = current_actor().id, row.number
    db.session.commit()
    try:
        _run(lambda: cancel_booking(clinics(), owner_id=owner_id, number=canonical), "")
    except BookingRefused as exc:
        return _refused(exc)
    return jsonify(_view(canonical))


@bp.post("/<number>/move")
@roles_required(CITIZEN)
def move(number: str) -> Response | tuple[Response, int]:
    """{slot_id}: another time at the same organisation and specialty: 200 with status `moving`, then `confirmed`."""
    row = own_appointment(number)
    body = json_object()
    owner_id, canonical = current_actor().id, row.number
    db.session.commit()
    try:
        _run(lambda: move_booking(clinics(), owner_id=owner_id, number=canonical, slot_id=body.get("slot_id")),
             "Перенести запись нельзя: проверьте выбранное время.")
    except BookingRefused as exc:
        return _refused(exc)
    return jsonify(_view(canonical))
