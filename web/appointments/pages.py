"""«Запись к врачу» in the citizen's cabinet: the bookings, a new booking step by step, one booking with
its move and cancel forms.

Plain GET forms narrow the choice (organisation, then specialty and date, then a free time) and one POST
books it, so the pages work without JavaScript and on a phone; the same actions as /api/v1/appointments.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.dates import format_ru_date, parse_ru_date, today_moscow
from forms.rendering import error_links
from tasks.accounts.roles import CITIZEN
from tasks.appointments.booking import BookingRefused, ClinicUnavailable, list_for, ready_certificates, view
from tasks.appointments.booking import book as book_slot
from tasks.appointments.booking import cancel as cancel_booking
from tasks.appointments.booking import move as move_booking
from tasks.registries.client import RegistryUnavailable

from ..api_errors import error_page
from ..cases import page_format
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from .actions import clinics, organizations, own_appointment, search_slots, slot_query

bp = Blueprint("appointments", __name__, url_prefix="/appointments")
page_format.register(bp)
Page = str | tuple[str, int] | Response
DAYS_SEARCHED = 14  # a page lists the first SLOTS_SHOWN free times within this many days from the chosen date
SLOTS_SHOWN = 24
FIELDS = {"ogrn": ("Медицинская организация", "f-ogrn"), "specialty": ("Специальность", "f-specialty"),
          "date": ("Дата приёма", "f-date"), "slot_id": ("Время приёма", "f-slot"),
          "certificate_number": ("Справка ОМС", "f-certificate_number")}
CLINIC_DOWN = "Расписание клиники сейчас недоступно. Попробуйте через несколько минут."


def _day(text: str | None) -> date | None:
    text = (text or "").strip()
    return parse_ru_date(text) if text else None


def _first_day() -> date:
    return today_moscow() + timedelta(days=1)


@bp.get("")
@roles_required(CITIZEN)
def index() -> str:
    rows = list_for(db.session, current_actor().id)
    items = [view(db.session, services().sla, r) for r in rows]
    return render_template("appointments/list.html", items=items)


def _new_page(values: dict[str, Any], errors: list[FieldError] | None = None, status: int = 200,
              refused: BookingRefused | None = None) -> tuple[str, int]:
    """The booking page for what is chosen so far: the organisation, the specialty and date, the free times."""
    errors = list(errors or [])
    orgs: list[dict[str, Any]] = []
    slots: list[dict[str, Any]] | None = None
    unavailable = None
    try:
        orgs = organizations()
    except RegistryUnavailable:
        unavailable = "Реестр медицинских организаций сейчас недоступен. Попробуйте через несколько минут."
    org = next((o for o in orgs if o["ogrn"] == values.get("ogrn")), None)
    day = _day(values.get("date"))
    if org is not None and values.get("specialty") and values.get("show") and refused is None:
        if values.get("date") and day is None:
            errors.append(FieldError("date", "format", "Введите дату в формате ДД.ММ.ГГГГ, например 15.12.2026."))
        else:
            try:
                ogrn, specialty, day = slot_query(org["ogrn"], values["specialty"], day or _first_day(), DAYS_SEARCHED)
                slots = search_slots(ogrn, specialty, day, DAYS_SEARCHED)[:SLOTS_SHOWN]
            except DataValidationError as exc:
                errors.extend(exc.fields)
            except RegistryUnavailable:
                unavailable = CLINIC_DOWN
    if refused is not None:
        slots = refused.next_slots
    certificates = ready_certificates(db.session, current_actor().id)
    field_errors = {e.field: e.message for e in errors}
    return render_template("appointments/new.html", orgs=orgs, org=org, values=values, slots=slots,
                           certificates=certificates, field_errors=field_errors, unavailable=unavailable,
                           summary=error_links(errors, FIELDS), refused=refused,
                           date_value=values.get("date") or format_ru_date(_first_day())), status


@bp.get("/new")
@roles_required(CITIZEN)
def new() -> tuple[str, int]:
    return _new_page(request.args.to_dict())


@bp.post("/new")
@roles_required(CITIZEN)
def create() -> Page:
    values = request.form.to_dict()
    owner_id = current_actor().id
    db.session.commit()
    slot_id = values.get("slot_id") or ""
    try:
        booked = book_slot(clinics(), owner_id=owner_id, slot_id=slot_id,
                           certificate_number=values.get("certificate_number") or "")
    except DataValidationError as exc:
        return _new_page({**values, "show": "1"}, exc.fields, 422)
    except BookingRefused as exc:
        return _new_page(values, [FieldError("slot_id", exc.code, exc.message)], 409, refused=exc)
    except (ClinicUnavailable, RegistryUnavailable):
        return error_page(503, CLINIC_DOWN, "Расписание недоступно")
    flash(f"Запись № {booked.number} создана. Клиника подтвердит её в течение нескольких минут — мы пришлём "
          "письмо.", "success")
    return redirect(url_for("appointments.detail", number=booked.number))


@bp.get("/<number>")
@roles_required(CITIZEN)
def detail(number: str) -> str:
    row = own_appointment(number)
    return render_template("appointments/detail.html", a=view(db.session, services().sla, row))


@bp.post("/<number>/cancel")
@roles_required(CITIZEN)
def cancel(number: str) -> Page:
    row = own_appointment(number)
    owner_id, canonical = current_actor().id, row.number
    db.session.commit()
    try:
        cancel_booking(clinics(), owner_id=owner_id, number=canonical)
    except BookingRefused as exc:
        return error_page(409, exc.message, "Отменить запись нельзя")
    flash(f"Запись № {canonical} отменяется. Мы пришлём письмо, когда клиника подтвердит отмену.", "success")
    return redirect(url_for("appointments.detail", number=canonical))


def _move_page(number: str, values: dict[str, Any], errors: list[FieldError] | None = None, status: int = 200,
               refused: BookingRefused | None = None) -> tuple[str, int]:
    row = own_appointment(number)
    a = view(db.session, services().sla, row)
    errors = list(errors or [])
    slots: list[dict[str, Any]] | None = refused.next_slots if refused is not None else None
    unavailable = None
    day = _day(values.get("date"))
    if refused is None:
        if values.get("date") and day is None:
            errors.append(FieldError("date", "format", "Введите дату в формате ДД.ММ.ГГГГ, например 15.12.2026."))
        else:
            try:
                ogrn, specialty, day = slot_query(row.ogrn, row.specialty, day or _first_day(), DAYS_SEARCHED)
                found = search_slots(ogrn, specialty, day, DAYS_SEARCHED)
                slots = [s for s in found if s["id"] != row.slot_id][:SLOTS_SHOWN]
            except DataValidationError as exc:
                errors.extend(exc.fields)
            except RegistryUnavailable:
                unavailable = CLINIC_DOWN
    return render_template("appointments/move.html", a=a, slots=slots, values=values, unavailable=unavailable,
                           field_errors={e.field: e.message for e in errors}, summary=error_links(errors, FIELDS),
                           refused=refused, date_value=values.get("date") or format_ru_date(_first_day())), status


@bp.get("/<number>/move")
@roles_required(CITIZEN)
def move_form(number: str) -> tuple[str, int]:
    return _move_page(number, request.args.to_dict())


@bp.post("/<number>/move")
@roles_required(CITIZEN)
def move(number: str) -> Page:
    row = own_appointment(number)
    values = request.form.to_dict()
    owner_id, canonical = current_actor().id, row.number
    db.session.commit()
    try:
        move_booking(clinics(), owner_id=owner_id, number=canonical, slot_id=values.get("slot_id") or "")
    except DataValidationError as exc:
        return _move_page(canonical, values, exc.fields, 422)
    except BookingRefused as exc:
        if exc.code == "slot_taken":
            return _move_page(canonical, values, [FieldError("slot_id", exc.code, exc.message)], 409, refused=exc)
        return error_page(409, exc.message, "Перенести запись нельзя")
    except (ClinicUnavailable, RegistryUnavailable):
        return error_page(503, CLINIC_DOWN, "Расписание недоступно")
    flash(f"Запись № {canonical} переносится. Мы пришлём письмо, когда клиника подтвердит новое время.", "success")
    return redirect(url_for("appointments.detail", number=canonical))
