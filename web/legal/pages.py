"""The legal documents' pages: each document in its current or any earlier version, and the page where a
signed-in citizen accepts new versions before going on (the login gate sends them there)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.rendering import FieldView
from tasks.accounts.roles import CITIZEN
from tasks.legal.acceptance import accept as accept_documents
from tasks.legal.acceptance import edition, pending
from tasks.legal.catalogue import TITLES, LegalDocument

from ..accounts.page_forms import form_view
from ..accounts.views import safe_next
from ..extensions import db
from ..navigation import home_url
from ..security import current_actor, login_required_page, public
from .gate import current_catalogue

bp = Blueprint("legal", __name__)


@bp.get("/legal/<document_id>")
@bp.get("/legal/<document_id>/<version>")
@public
def document(document_id: str, version: str | None = None) -> str:
    """A document as published: the current version, or the one named (what someone accepted back then)."""
    if document_id not in TITLES:
        abort(404)
    catalogue = current_catalogue()
    current = catalogue.current(document_id)
    shown = current if version is None else catalogue.version(document_id, version)
    if shown is None:
        abort(404)
    return render_template("legal/document.html", document=shown, current=current, edition=edition,
                           versions=catalogue.versions[document_id])


def _checkbox(document: LegalDocument, checked: bool, error: str | None = None) -> FieldView:
    return FieldView(name=document.id, id=f"f-{document.id}", widget="checkbox", required=True,
                     label=f"Принимаю документ «{document.title}» ({edition(document)})",
                     value="on" if checked else "", error=error)


@bp.route("/legal/accept", methods=["GET", "POST"])
@login_required_page
def accept() -> str | tuple[str, int] | Response:
    """New versions to accept: the texts, a checkbox for each, and nothing else works until they are accepted."""
    actor = current_actor()
    assert actor is not None
    next_url = safe_next(request.values.get("next"), default="") or home_url(actor.role)
    catalogue = current_catalogue()
    missing = pending(db.session, actor.id, catalogue) if actor.role == CITIZEN else []
    if not missing:
        return redirect(next_url)
    if request.method == "GET":
        return _page(missing, next_url, {})
    unchecked = [FieldError(d.id, "required", f"Чтобы продолжить, примите документ «{d.title}»")
                 for d in missing if request.form.get(d.id) != "on"]
    if unchecked:
        return _page(missing, next_url, request.form, unchecked, 422)
    try:
        accept_documents(db.session, actor.id, catalogue, request.form, channel="page")
    except DataValidationError as exc:  # a version came into force while the page was open
        return _page(missing, next_url, {}, exc.fields, 422)
    flash("Спасибо, согласие сохранено.", "success")
    return redirect(next_url)


def _page(missing: list[LegalDocument], next_url: str, values: Mapping[str, str],
          errors: list[FieldError] | None = None, status: int = 200) -> tuple[str, int]:
    """The texts and a checkbox each; the hidden fields name the versions shown, so that exactly these are
    recorded (a version that came into force meanwhile is refused and shown)."""
    errors = errors or []
    by_field = {e.field: e.message for e in errors}
    fields = [_checkbox(d, values.get(d.id) == "on", by_field.get(d.id)) for d in missing]
    hidden = {"next": next_url, **{d.field: d.version for d in missing}}
    return render_template("legal/accept.html", view=form_view(fields, errors), documents=missing, hidden=hidden,
                           edition=edition), status
