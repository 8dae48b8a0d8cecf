"""«Обращения» in the citizen's cabinet: the list, a new request with screenshots, the thread with the
specialist's answers, and writing again (which reopens a closed request within its term).

Plain forms with CSRF that work without JavaScript; the same actions as /api/v1/support-requests.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from engine.sla import UnknownSla
from forms.rendering import build_form, error_links, form_data_from_flat
from forms.typography import NUMBER_SIGN
from forms.validation import load_schema
from tasks.accounts.roles import CITIZEN, SUPPORT_STAFF
from tasks.cases.actions import ActionRefused
from tasks.cases.terms import sla_term
from tasks.documents.formatting import format_date
from tasks.support.labels import APPEAL
from tasks.support.requests import list_requests, request_view

from ..api_errors import error_page
from ..cases import page_format
from ..cases.access import document_response
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from .actions import readable_request, submit, write
from .attachments import FIELD, attachment_of, chosen_files

bp = Blueprint("support", __name__, url_prefix="/support")
page_format.register(bp)
FILES_OUTSIDE = {FIELD: ("Скриншоты", f"f-{FIELD}")}
Page = str | tuple[str, int] | Response


def _runtime() -> Any:
    return services().runtime


def _terms() -> dict[str, str]:
    """The terms the pages promise, from the catalogue the process's timers use (a deployment whose
    catalogue lacks one, such as a test's own workflows, gets pages that promise none)."""
    terms = {}
    for name in ("support_reply", "support_reopen"):
        try:
            terms[name] = sla_term(name)
        except UnknownSla:
            continue
    return terms


@bp.get("")
@roles_required(CITIZEN)
def index() -> str:
    rows = list_requests(db.session, current_actor().id)
    items = [request_view(db.session, _runtime(), r) for r in rows]
    return render_template("support/list.html", items=items, terms=_terms())


def _new_page(values: Any = None, errors: list[FieldError] | None = None, status: int = 200) -> tuple[str, int]:
    schema = load_schema("support_request")
    if values is None and (request.args.get("case") or request.args.get("type")):  # from a case or a FAQ page
        values = {"case_number": request.args.get("case", ""), "type": request.args.get("type", "case_question")}
    form = build_form(schema, values, errors or [], outside=FILES_OUTSIDE)
    file_error = next((e.message for e in errors or [] if e.field == FIELD), None)
    return render_template("support/new.html", form=form, file_error=file_error, terms=_terms()), status


@bp.get("/new")
@roles_required(CITIZEN)
def new() -> tuple[str, int]:
    return _new_page()


@bp.post("/new")
@roles_required(CITIZEN)
def create() -> Page:
    owner_id = current_actor().id
    body = form_data_from_flat(load_schema("support_request"), request.form)
    try:
        filed = submit(owner_id, body, chosen_files(), surface="page")
    except DataValidationError as exc:
        return _new_page(request.form, exc.fields, 422)
    except ActionRefused as exc:
        return error_page(409, exc.message, "Жалобу подать нельзя")
    if filed.type == APPEAL:
        flash(f"Жалоба {NUMBER_SIGN}{filed.appeal_number} на отказ зарегистрирована. Срок рассмотрения — до "
              f"{format_date(filed.due_at)}.", "success")
    else:
        due = f" Ответ — до {format_date(filed.due_at)}." if filed.due_at else ""
        flash(f"Обращение {NUMBER_SIGN}{filed.number} зарегистрировано.{due}", "success")
    return redirect(url_for("support.detail", request_number=filed.number))


def _detail_page(request_number: str, values: Any = None, errors: list[FieldError] | None = None,
                 status: int = 200) -> tuple[str, int]:
    found = readable_request(request_number)
    view = request_view(db.session, _runtime(), found)
    errors = errors or []
    field_errors = {e.field: e.message for e in errors}
    summary = error_links(errors, {"text": ("Сообщение", "f-text"), **FILES_OUTSIDE})
    return render_template("support/detail.html", r=view, values=values or {}, field_errors=field_errors,
                           summary=summary, terms=_terms()), status


@bp.get("/<request_number>")
@roles_required(CITIZEN)
def detail(request_number: str) -> tuple[str, int]:
    return _detail_page(request_number)


@bp.post("/<request_number>/messages")
@roles_required(CITIZEN)
def message(request_number: str) -> Page:
    found = readable_request(request_number)
    owner_id, number = current_actor().id, found.number
    try:
        write(owner_id, number, {"text": request.form.get("text", "")}, chosen_files(), surface="page")
    except DataValidationError as exc:
        return _detail_page(number, request.form, exc.fields, 422)
    except ActionRefused as exc:
        return error_page(409, exc.message, "Написать в обращение нельзя")
    flash("Сообщение отправлено в службу поддержки.", "success")
    return redirect(url_for("support.detail", request_number=number))


@bp.get("/<request_number>/files/<int:doc_id>")
@roles_required(CITIZEN, *SUPPORT_STAFF)
def attachment(request_number: str, doc_id: int) -> Response:
    """A screenshot of the thread, inline under the uploads' sandboxing policy, for its owner and the support
    staff (a staff reading is journaled)."""
    doc = attachment_of(readable_request(request_number), doc_id)
    response = document_response(app_config(), doc, inline=True)
    db.session.commit()
    return response
