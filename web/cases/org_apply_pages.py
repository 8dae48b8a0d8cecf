"""The organisation's application page: /apply/organization, one form, then the confirmation.

An employer's application is shorter than a person's, so it is one page with a fieldset per part
(organisation, bank details, representative, period, documents), drawn from the same schema that
validates the API (forms/schemas/organization_application.schema.json): labels, hints, ДД.ММ.ГГГГ
dates and errors next to their fields come from forms.rendering, and the page works without
JavaScript. The representative's ФИО is the account's. Files chosen with a form that has errors are
kept in the draft (the wizard's draft functions, applicant "organization"), so the scan of a power of
attorney is uploaded once.
After submitting, the confirmation links to the employee list of the case.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.messages import genitive_count
from forms.rendering import build_form, flat_from_data, form_data_from_flat
from forms.validation import clean
from tasks.cases import drafts, org_drafts, wizard
from tasks.cases.models.cases import Draft
from tasks.cases.queries import documents_of
from tasks.cases.representatives import POA_KIND, representative_of, representative_problems
from tasks.cases.submission import applicant_name, submit_application
from tasks.cases.uploads import DOCUMENT_KINDS, UploadRejected, read_limited

from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from . import access
from .files import add_document

bp = Blueprint("org_apply", __name__)
Page = str | tuple[str, int] | Response
UPLOAD_KINDS = (POA_KIND, "other")
APPLICANT = org_drafts.APPLICANT


def _files_limit() -> str:
    """«20 файлов»: how many files a draft may hold, with its noun in the genitive."""
    return genitive_count(wizard.MAX_DRAFT_DOCUMENTS, "файла", "файлов")


def _documents(draft: Draft | None) -> list:
    return drafts.draft_documents(db.session, draft) if draft is not None else []


def _page(draft: Draft | None, values: Any, errors: list[FieldError] | None = None, status: int = 200) -> Page:
    view = build_form(org_drafts.schema(), values, errors or [])
    html = render_template("cases/org_apply.html", view=view, representative=current_actor().full_name,
                           documents=_documents(draft), kinds=DOCUMENT_KINDS, files_limit=_files_limit())
    return html, status


@bp.get("/apply/organization")
@roles_required("citizen")
def form() -> Page:
    """The form, filled in from the draft when there is one (else with the account's ФИО)."""
    draft = wizard.find_draft(db.session, current_actor().id, APPLICANT)
    data = dict(draft.data) if draft is not None else org_drafts.new_data(current_actor().full_name)
    return _page(draft, flat_from_data(org_drafts.schema(), data))


@bp.post("/apply/organization")
@roles_required("citizen")
def submit() -> Page:
    user = current_actor()
    owner_id, owner_email = user.id, user.email  # read before the commits below expire the object
    data = org_drafts.tidy(form_data_from_flat(org_drafts.schema(), request.form))
    draft = wizard.save_draft(db.session, owner_id, data, org_drafts.STEP, APPLICANT)
    errors = _store_uploads(draft, owner_id)
    normalized, problems = clean(org_drafts.schema(), data, surface="page")
    documents = [d.id for d in _documents(draft)]
    errors = problems + errors + _authority_problems(owner_id, normalized, documents, errors)
    if errors:
        return _page(draft, request.form, errors, 422)
    if not wizard.claim_draft(db.session, draft.id):  # commits: the runtime needs the lock on SQLite
        flash("Это заявление уже подано.", "info")
        return redirect(url_for("cases.applications"))
    try:
        result = submit_application(services().database, services().runtime, owner_id, owner_email, normalized,
                                    document_ids=documents)
    except DataValidationError as exc:
        wizard.restore_draft(db.session, owner_id, data, documents, APPLICANT)
        return _page(wizard.find_draft(db.session, owner_id, APPLICANT), request.form, exc.fields, 422)
    except Exception:
        wizard.restore_draft(db.session, owner_id, data, documents, APPLICANT)
        raise
    return redirect(url_for(".submitted", number=result.number))


def _authority_problems(owner_id: int, data: dict[str, Any], documents: list[int],
                        upload_errors: list[FieldError]) -> list[FieldError]:
    """The missing scan of a power of attorney (unless its upload already failed with its own message)."""
    if any(e.field == f"documents.{POA_KIND}" for e in upload_errors):
        return []
    return representative_problems(db.session, owner_id, data, documents)


def _store_uploads(draft: Draft, owner_id: int) -> list[FieldError]:
    """Keep every chosen file in the draft; a refused file gets its message next to its input."""
    room = wizard.MAX_DRAFT_DOCUMENTS - len(_documents(draft))
    errors: list[FieldError] = []
    for kind in UPLOAD_KINDS:
        for upload in request.files.getlist(f"documents.{kind}"):
            if not upload.filename:
                continue
            if room <= 0:
                errors.append(FieldError(f"documents.{kind}", "too_many",
                                         f"Можно приложить не больше {_files_limit()}: удалите лишние"))
                continue
            try:
                add_document(db.session, app_config(), owner_id=owner_id, application=None, kind=kind,
                             filename=upload.filename, data=read_limited(upload.stream), draft_id=draft.id)
                room -= 1
            except UploadRejected as exc:
                errors.append(FieldError(f"documents.{kind}", exc.code, exc.message))
    db.session.commit()
    return errors


@bp.post("/apply/organization/documents/<int:doc_id>/delete")
@roles_required("citizen")
def delete_document(doc_id: int) -> Response:
    draft = wizard.find_draft(db.session, current_actor().id, APPLICANT)
    doc = next((d for d in _documents(draft) if d.id == doc_id), None)
    if doc is None:
        abort(404)
    name = doc.filename
    drafts.delete_document(db.session, app_config(), doc)
    flash(f"Файл «{name}» удалён.", "info")
    return redirect(url_for(".form"))


@bp.get("/apply/organization/submitted/<number>")
@roles_required("citizen")
def submitted(number: str) -> str:
    """The confirmation: number, time, organisation, representative, documents; next, the employee list."""
    app = access.own_application(number)
    if app.applicant != "organization":
        abort(404)
    rep = representative_of(db.session, app.id)
    documents = documents_of(db.session, app)
    access.record_view(app, "confirmation_viewed")
    return render_template("cases/org_submitted.html", number=app.number, submitted_at=app.submitted_at,
                           applicant=applicant_name(app.data), organization=app.data["organization"],
                           representative=rep, period=app.data["period"], documents=documents, kinds=DOCUMENT_KINDS,
                           employees_url=url_for("employees.page", number=app.number))
