"""The application wizard's pages: /apply/<step>, one URL per step, POST/redirect/GET between them.

Every POST saves the step into the server-side draft (tasks.cases.wizard) before anything else, so
what was typed survives errors, closed browsers and new logins; only the step's own fields are
validated, and their errors come back next to them (422). The documents step uploads files into
the draft; the review step shows everything with «Изменить» links and submits.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.rendering import ErrorLink, build_form, flat_from_data, form_data_from_flat
from tasks.accounts.profile import application_prefill
from tasks.cases import drafts, wizard
from tasks.cases.models.cases import Draft
from tasks.cases.submission import submit_application
from tasks.cases.uploads import DOCUMENT_KINDS, UploadRejected, read_limited

from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from .files import add_document

bp = Blueprint("apply", __name__)
Page = str | tuple[str, int] | Response


def _known_step(step: str) -> str:
    if step not in wizard.step_ids():
        abort(404)
    return step


def _draft() -> Draft | None:
    return wizard.find_draft(db.session, current_actor().id)


def _profile() -> dict[str, Any]:
    """The person's own data from their profile (ФИО, birth date, ИНН, ЕНП): the wizard starts filled in."""
    return application_prefill(current_actor())


def _draft_data(draft: Draft | None) -> dict[str, Any]:
    return dict(draft.data) if draft is not None else wizard.new_draft_data(_profile())


def _editing() -> bool:
    """Came from the review's «Изменить» link: after saving, go back to the review."""
    return request.args.get("edit") == "1"


def _step_url(step: str) -> str:
    """A step's address; while editing from the review it keeps ?edit=1, so saving returns there."""
    return url_for(".step", step=step, **({"edit": "1"} if _editing() else {}))


def _after_save(step: str) -> Response:
    target = wizard.REVIEW_STEP if _editing() else wizard.next_step(step)
    return redirect(url_for(".step", step=target))


def _page(template: str, step: str, draft: Draft | None, status: int = 200, **context: Any) -> tuple[str, int]:
    reached = draft.step if draft is not None else wizard.step_ids()[0]
    ids = wizard.step_ids()
    reachable = set(ids[: ids.index(wizard.later_step(reached, step)) + 1])
    previous = wizard.previous_step(step)
    html = render_template(
        template, steps=wizard.steps(), current=wizard.Step(step, wizard.step_title(step)),
        number=ids.index(step) + 1, reachable=reachable, editing=_editing(),
        action=_step_url(step),
        back=url_for(".step", step=previous) if previous else None, has_draft=draft is not None, **context)
    return html, status


# ---------------------------------------------------------------------- entry
@bp.get("/apply")
@roles_required("citizen")
def start() -> Response:
    """Resume where the person stopped, or begin with the first step."""
    draft = _draft()
    first = wizard.step_ids()[0]
    return redirect(url_for(".step", step=wizard.later_step(draft.step, first) if draft else first))


@bp.post("/apply/discard")
@roles_required("citizen")
def discard() -> Response:
    draft = _draft()
    if draft is not None:
        drafts.discard_draft(db.session, app_config(), draft)
    flash("Черновик заявления удалён.", "info")
    return redirect(url_for(".step", step=wizard.step_ids()[0]))


# ---------------------------------------------------------------------- data steps
@bp.get("/apply/<step>", endpoint="step")
@roles_required("citizen")
def show_step(step: str) -> Page:
    step = _known_step(step)
    draft = _draft()
    if step == wizard.DOCUMENTS_STEP:
        return _documents_page(draft)
    if step == wizard.REVIEW_STEP:
        return _review_page(draft)
    view = build_form(wizard.schema(), flat_from_data(wizard.schema(), _draft_data(draft)), step=step)
    return _page("cases/apply_step.html", step, draft, view=view)


@bp.post("/apply/<step>", endpoint="save")
@roles_required("citizen")
def save_step(step: str) -> Page:
    step = _known_step(step)
    if step == wizard.DOCUMENTS_STEP:
        return _upload()
    if step == wizard.REVIEW_STEP:
        return _submit()
    schema = wizard.schema()
    data = wizard.merge_step(_draft_data(_draft()), form_data_from_flat(schema, request.form), step)
    errors = wizard.step_errors(data, step)
    draft = wizard.save_draft(db.session, current_actor().id, data, step if errors else wizard.next_step(step))
    if errors:
        return _page("cases/apply_step.html", step, draft, 422, view=build_form(schema, request.form, errors,
                                                                                 step=step))
    return _after_save(step)


# ---------------------------------------------------------------------- documents
def _documents_page(draft: Draft | None, errors: list[FieldError] | None = None, status: int = 200) -> Page:
    view = build_form(wizard.schema(), {}, errors or [], step=wizard.DOCUMENTS_STEP)
    documents = drafts.draft_documents(db.session, draft) if draft is not None else []
    return _page("cases/apply_documents.html", wizard.DOCUMENTS_STEP, draft, status, view=view,
                 documents=documents, kinds=DOCUMENT_KINDS, max_documents=wizard.MAX_DRAFT_DOCUMENTS)


def _chosen_files() -> list[tuple[str, FileStorage]]:
    """(kind, file) for every file input that carries a file; the input names are `documents.<kind>`."""
    chosen = []
    for kind in DOCUMENT_KINDS:
        for upload in request.files.getlist(f"documents.{kind}"):
            if upload.filename:
                chosen.append((kind, upload))
    return chosen


def _upload() -> Page:
    """Store each chosen file in the draft; a rejected file gets its message next to its input."""
    user_id = current_actor().id
    draft = _draft() or wizard.save_draft(db.session, user_id, wizard.new_draft_data(_profile()),
                                          wizard.DOCUMENTS_STEP)
    room = wizard.MAX_DRAFT_DOCUMENTS - len(drafts.draft_documents(db.session, draft))
    errors: list[FieldError] = []
    chosen = _chosen_files()
    for kind, upload in chosen:
        field = f"documents.{kind}"
        if room <= 0:
            errors.append(FieldError(field, "too_many", f"Можно приложить не больше {wizard.MAX_DRAFT_DOCUMENTS} "
                                                        "файлов: удалите лишние"))
            continue
        try:
            add_document(db.session, app_config(), owner_id=user_id, application=None, kind=kind,
                         filename=upload.filename or "document", data=read_limited(upload.stream), draft_id=draft.id)
        except UploadRejected as exc:
            errors.append(FieldError(field, exc.code, exc.message))
            continue
        room -= 1
    draft.step = wizard.later_step(draft.step, wizard.DOCUMENTS_STEP if errors else wizard.REVIEW_STEP)
    db.session.commit()
    if errors:
        return _documents_page(draft, errors, 422)
    if request.form.get("action") == "upload":
        flash("Файлы загружены." if chosen else "Выберите файл, чтобы загрузить его.",
              "success" if chosen else "warning")
        return redirect(_step_url(wizard.DOCUMENTS_STEP))
    return redirect(url_for(".step", step=wizard.REVIEW_STEP))


@bp.post("/apply/documents/<int:doc_id>/delete")
@roles_required("citizen")
def delete_document(doc_id: int) -> Response:
    draft = _draft()
    doc = next((d for d in drafts.draft_documents(db.session, draft) if d.id == doc_id), None) if draft else None
    if doc is None:
        abort(404)
    name = doc.filename
    drafts.delete_document(db.session, app_config(), doc)
    flash(f"Файл «{name}» удалён.", "info")
    return redirect(_step_url(wizard.DOCUMENTS_STEP))


# ---------------------------------------------------------------------- review and submission
def _review_page(draft: Draft | None, values: Any = None, errors: list[FieldError] | None = None,
                 status: int = 200) -> Page:
    """The summary and the last fields; `errors` (after a POST) are shown in place or linked to their step."""
    schema, data = wizard.schema(), _draft_data(draft)
    normalized, problems = wizard.check(data)
    view = build_form(schema, values if values is not None else flat_from_data(schema, data), errors or [],
                      step=wizard.REVIEW_STEP)
    return _page("cases/apply_review.html", wizard.REVIEW_STEP, draft, status, view=view,
                 sections=wizard.review_sections(normalized), incomplete=_incomplete_steps(problems),
                 elsewhere=[_step_problem(e) for e in wizard.errors_elsewhere(errors or [], wizard.REVIEW_STEP)],
                 documents=drafts.draft_documents(db.session, draft) if draft is not None else [],
                 kinds=DOCUMENT_KINDS)


def _incomplete_steps(problems: list[FieldError]) -> list[wizard.Step]:
    """Steps that still have problems: the review says so before the person presses «Подать»."""
    found = {wizard.step_of_field(e.field) for e in wizard.errors_elsewhere(problems, wizard.REVIEW_STEP)}
    return [s for s in wizard.steps() if s.id in found]


def _step_problem(error: FieldError) -> ErrorLink:
    """«Паспорт: шаг не заполнен» or «СНИЛС, ИНН и полис: СНИЛС — заполните поле», linked to the step."""
    step_id = wizard.step_of_field(error.field) or wizard.step_ids()[0]
    if wizard.is_group(error.field):
        text = f"{wizard.step_title(step_id)}: шаг не заполнен"
    else:
        message = error.message[0].lower() + error.message[1:] if error.message[1:2].islower() else error.message
        text = f"{wizard.step_title(step_id)}: {wizard.field_label(error.field)} — {message}"
    return ErrorLink(text, url_for(".step", step=step_id, edit="1"))


def _submit() -> Page:
    user = current_actor()
    owner_id, owner_email = user.id, user.email  # read before the commits below expire the object
    draft = _draft()
    if draft is None:
        flash("Черновик заявления не найден: возможно, заявление уже подано.", "info")
        return redirect(url_for("cases.applications"))
    data = wizard.merge_step(draft.data, form_data_from_flat(wizard.schema(), request.form), wizard.REVIEW_STEP)
    normalized, errors = wizard.check(data)
    if errors:
        draft = wizard.save_draft(db.session, owner_id, data, wizard.REVIEW_STEP)
        return _review_page(draft, request.form, errors, 422)
    draft_id, documents = draft.id, [d.id for d in drafts.draft_documents(db.session, draft)]
    if not wizard.claim_draft(db.session, draft_id):  # commits: the runtime needs the lock on SQLite
        flash("Это заявление уже подано.", "info")
        return redirect(url_for("cases.applications"))
    try:
        result = submit_application(services().database, services().runtime, owner_id, owner_email, normalized,
                                    document_ids=documents)
    except DataValidationError as exc:
        wizard.restore_draft(db.session, owner_id, data, documents)
        return _review_page(_draft(), request.form, exc.fields, 422)
    except Exception:
        wizard.restore_draft(db.session, owner_id, data, documents)
        raise
    return redirect(url_for("cases.submitted", number=result.number))
