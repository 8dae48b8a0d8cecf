"""A refused case's pages: «Подать повторно», «Обжаловать отказ», the answer to an appeal's request,
and the «Решение об отказе» download.

Server-rendered forms (CSRF, labels, errors next to the fields, no JavaScript needed), validated by the
same code as the JSON API (tasks.cases.resubmission / appeals). What the page may offer is what the
process waits for (tasks.cases.actions): a form for an action the case does not allow answers 409.
Files are checked before anything is stored, and stored only once everything else is valid, so a page
with errors changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.flat import get_one
from forms.rendering import FieldsetView, FieldView, build_form, error_links, flat_from_data, form_data_from_flat
from forms.typography import NUMBER_SIGN
from forms.validation import load_schema
from tasks.cases.actions import ActionRefused, refusal_message
from tasks.cases.appeals import answer_request, file_appeal
from tasks.cases.catalogue import application_schema
from tasks.cases.queries import case_view
from tasks.cases.resubmission import (
    changeable,
    ensure_allowed,
    highlighted_fields,
    prepare_resubmission,
    resubmit,
    validate_extras,
)
from tasks.cases.terms import sla_term
from tasks.cases.uploads import DOCUMENT_KINDS, UploadRejected, check_upload, read_limited
from tasks.documents.formatting import format_date

from ..api_errors import error_page
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from . import access
from .files import add_document, case_pdf_response, forget_documents

bp = Blueprint("refusal", __name__)
Page = str | tuple[str, int] | Response
FILES_FIELD = "files"
FILE_KIND_FIELD = "files_kind"
TEXT_LIMITS = {"comment": 2000, "grounds": 5000, "answer": 5000}
# Fields these pages draw themselves (cases/_extra_fields.html): name -> (label, element id), for the
# error summary's links.
EXTRA_FIELDS = {FILES_FIELD: ("Файлы", "f-files"), "documents": ("Документы", "f-files"),
                FILE_KIND_FIELD: ("Вид документов", "f-files_kind"), "comment": ("Комментарий", "f-comment"),
                "grounds": ("Доводы жалобы", "f-grounds"), "answer": ("Ответ", "f-answer")}


def _refused(exc: ActionRefused) -> tuple[str, int]:
    return error_page(409, exc.message, "Действие недоступно")


# ----------------------------------------------------------------------------- files
def _chosen_files() -> list[FileStorage]:
    return [f for f in request.files.getlist(FILES_FIELD) if f and f.filename]


def _check_files(files: Iterable[FileStorage]) -> tuple[list[tuple[str, bytes]], list[FieldError]]:
    """Read and check every chosen file before anything is stored; errors go next to the file input."""
    kind = request.form.get(FILE_KIND_FIELD) or "other"
    errors: list[FieldError] = []
    if kind not in DOCUMENT_KINDS:
        errors.append(FieldError(FILE_KIND_FIELD, "enum", "Выберите вид документа из списка"))
    read: list[tuple[str, bytes]] = []
    for upload in files:
        try:
            data = read_limited(upload.stream)
            check_upload(data)
        except UploadRejected as exc:
            errors.append(FieldError(FILES_FIELD, exc.code, f"{upload.filename}: {exc.message}"))
            continue
        read.append((upload.filename or "document", data))
    return read, errors


def _store_files(number: str, files: list[tuple[str, bytes]]) -> list[int]:
    app = access.own_application(number)
    kind = request.form.get(FILE_KIND_FIELD) or "other"
    ids = [add_document(db.session, app_config(), owner_id=app.owner_id, application=app, kind=kind, filename=name,
                        data=data).id for name, data in files]
    db.session.commit()
    return ids


def _forget_files(ids: list[int]) -> None:
    """Undo stored files when the action was refused at the last moment (another tab was faster)."""
    forget_documents(db.session, app_config(), ids)


def _errors_by_field(errors: Iterable[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for e in errors:
        found.setdefault(e.field, e.message)
    return found


# ------------------------------------------------------------------------ resubmission
def _highlight(nodes: list[FieldView | FieldsetView], paths: set[str]) -> list[str]:
    """Mark the fields the refusal reasons concern (a hint says so) and return their labels."""
    marked: list[str] = []
    note = "Проверьте: это поле связано с причиной отказа."
    for node in nodes:
        concerned = any(node.name == p or node.name.startswith(p + ".") for p in paths)
        if isinstance(node, FieldsetView):
            if concerned and not any(node.name.startswith(p + ".") for p in paths):
                node.hint = f"{note} {node.hint or ''}".strip()
                marked.append(node.legend or node.name)
            marked += _highlight(node.children, paths)
        elif concerned:
            node.hint = f"{note} {node.hint or ''}".strip()
            marked.append(node.label)
    return marked


def _resubmit_page(number: str, values: Any = None, errors: list[FieldError] | None = None,
                   status: int = 200) -> Page:
    app = access.own_application(number)
    view = case_view(db.session, services().runtime, app)
    if "resubmit" not in view["actions"] and status == 200:
        return error_page(409, refusal_message("resubmit"), "Действие недоступно")
    schema = load_schema(application_schema(app.process_id, app.applicant))
    form = build_form(schema, values if values is not None else flat_from_data(schema, app.data), errors or [],
                      outside=EXTRA_FIELDS)
    form.nodes = [n for n in form.nodes if n.name in changeable(app.applicant)]
    paths = highlighted_fields(view.get("reasons") or [])
    marked = _highlight(form.nodes, paths)
    access.record_view(app, "case_viewed", {"page": "resubmit"})
    return render_template("cases/resubmit.html", case=view, form=form, marked=marked, terms=_terms(),
                           documents_missing="documents" in paths, kinds=DOCUMENT_KINDS,
                           field_errors=_errors_by_field(errors or []), values=values or {}), status


@bp.get("/applications/<number>/resubmit")
@roles_required("citizen")
def resubmit_form(number: str) -> Page:
    return _resubmit_page(number)


@bp.post("/applications/<number>/resubmit")
@roles_required("citizen")
def resubmit_post(number: str) -> Page:
    user = current_actor()
    owner_id, owner_email = user.id, user.email
    app = access.own_application(number)
    schema = load_schema(application_schema(app.process_id, app.applicant))
    posted = form_data_from_flat(schema, request.form)
    changes: dict[str, Any] = {key: posted.get(key) for key in changeable(app.applicant)}  # emptied: removed
    comment = (get_one(request.form, "comment") or "").strip()
    body = {**changes, "comment": comment}
    files, file_errors = _check_files(_chosen_files())
    db.session.commit()
    try:
        prepare_resubmission(services().database, services().runtime, number=number, owner_id=owner_id,
                             owner_email=owner_email, body=body, surface="page")
    except ActionRefused as exc:
        return _refused(exc)
    except DataValidationError as exc:
        return _resubmit_page(number, request.form, [*exc.fields, *file_errors], 422)
    if file_errors:
        return _resubmit_page(number, request.form, file_errors, 422)
    ids = _store_files(number, files)
    try:
        result = resubmit(services().database, services().runtime, number=number, owner_id=owner_id,
                          owner_email=owner_email, body={**body, "documents": ids}, surface="page")
    except ActionRefused as exc:
        _forget_files(ids)
        return _refused(exc)
    except DataValidationError as exc:
        _forget_files(ids)
        return _resubmit_page(number, request.form, exc.fields, 422)
    flash(f"Заявление {NUMBER_SIGN}{number} подано повторно (попытка {result.attempt}). Сведения проверяются заново.",
          "success")
    return redirect(url_for("cases.case", number=number))


# ----------------------------------------------------------------------------- appeal
def _text_page(template: str, number: str, action: str, errors: list[FieldError] | None = None,
               values: Any = None, status: int = 200) -> Page:
    app = access.own_application(number)
    view = case_view(db.session, services().runtime, app)
    if action not in view["actions"] and status == 200:
        return error_page(409, "Это действие для заявления сейчас недоступно.", "Действие недоступно")
    access.record_view(app, "case_viewed", {"page": action})
    return render_template(template, case=view, kinds=DOCUMENT_KINDS, field_errors=_errors_by_field(errors or []),
                           summary=error_links(errors or [], EXTRA_FIELDS), values=values or {}, limits=TEXT_LIMITS,
                           terms=_terms()), status


def _terms() -> dict[str, str]:
    """The terms the pages promise, from the same SLA catalogue the timers use («10 рабочих дней»)."""
    return {name: sla_term(name) for name in ("appeal_review", "resubmission")}


def _text_action(number: str, action: str, template: str, field: str, schema: str,
                 deliver: Callable[[int, dict[str, Any]], str]) -> Page:
    """One flow for the appeal and the answer: a text, files, then ``deliver`` (it returns the flash message).

    Nothing is stored while the case refuses the action or the form has errors (422 page); files stored
    for a delivery that is refused at the last moment are forgotten again.
    """
    owner_id = current_actor().id
    access.own_application(number)
    text = get_one(request.form, field) or ""
    files, file_errors = _check_files(_chosen_files())
    db.session.commit()
    try:
        ensure_allowed(services().database, services().runtime, number=number, owner_id=owner_id, action=action)
        validate_extras({field: text.strip()}, schema, "page")
    except ActionRefused as exc:
        return _refused(exc)
    except DataValidationError as exc:
        return _text_page(template, number, action, [*exc.fields, *file_errors], request.form, 422)
    if file_errors:
        return _text_page(template, number, action, file_errors, request.form, 422)
    ids = _store_files(number, files)
    try:
        message = deliver(owner_id, {field: text, "documents": ids})
    except ActionRefused as exc:
        _forget_files(ids)
        return _refused(exc)
    except DataValidationError as exc:
        _forget_files(ids)
        return _text_page(template, number, action, exc.fields, request.form, 422)
    flash(message, "success")
    return redirect(url_for("cases.case", number=number))


@bp.get("/applications/<number>/appeal")
@roles_required("citizen")
def appeal_form(number: str) -> Page:
    return _text_page("cases/appeal.html", number, "appeal")


@bp.post("/applications/<number>/appeal")
@roles_required("citizen")
def appeal_post(number: str) -> Page:
    def deliver(owner_id: int, body: dict[str, Any]) -> str:
        filed = file_appeal(services().database, services().runtime,
                            number=number, owner_id=owner_id, body=body, surface="page")
        return (f"Жалоба {NUMBER_SIGN}{filed.appeal_number} зарегистрирована. "
                f"Срок рассмотрения — до {format_date(filed.due_at)}.")

    return _text_action(number, "appeal", "cases/appeal.html", "grounds", "appeal", deliver)


# ----------------------------------------------------------------------------- answer
@bp.get("/applications/<number>/answer")
@roles_required("citizen")
def answer_form(number: str) -> Page:
    return _text_page("cases/answer.html", number, "answer")


@bp.post("/applications/<number>/answer")
@roles_required("citizen")
def answer_post(number: str) -> Page:
    def deliver(owner_id: int, body: dict[str, Any]) -> str:
        answer_request(services().database, services().runtime, number=number, owner_id=owner_id, body=body,
                       surface="page")
        return "Ответ отправлен специалисту по обжалованию."

    return _text_action(number, "answer", "cases/answer.html", "answer", "appeal_answer", deliver)


# ----------------------------------------------------------------------------- decision
@bp.get("/applications/<number>/decision.pdf")
@roles_required("citizen")
def decision(number: str) -> Page:
    app = access.readable_application(number)
    return case_pdf_response(db.session, app_config(), app, "decision", attachment=True, missing=lambda: error_page(
        409, "Решения об отказе по этому заявлению нет.", "Решения нет"))

