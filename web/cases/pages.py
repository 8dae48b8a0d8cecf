"""A citizen's own cases as pages: «Мои заявки», the case page, the confirmation and the downloads.

Pages read through the same queries as the JSON API (tasks.cases.queries), so a status, a journal
line or a refusal reason reads the same on the page, in the API and in the operator's inbox.
Someone else's case answers 404 (web.cases.access), and every read is journaled.
"""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from tasks.cases.catalogue import service_of_process, wording_of
from tasks.cases.labels import STATUS_LABELS
from tasks.cases.queries import case_view, documents_of, list_cases
from tasks.cases.submission import applicant_name
from tasks.cases.uploads import DOCUMENT_KINDS

from ..api_errors import error_page
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from . import access, page_format
from .files import case_pdf_response, receipt_response
from .service_links import apply_url

bp = Blueprint("cases", __name__)
page_format.register(bp)
PAGE_SIZE = 20


@bp.get("/applications")
@roles_required("citizen")
def applications() -> str:
    """The person's applications, newest first, searchable by number (or name), 20 to a page."""
    query = (request.args.get("q") or "").strip()[:100]
    page = max(request.args.get("page", 1, type=int), 1)
    items, total = list_cases(db.session, owner_id=current_actor().id, search=query or None, limit=PAGE_SIZE,
                              offset=(page - 1) * PAGE_SIZE)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    return render_template("cases/list.html", items=items, total=total, query=query, page=page, pages=pages)


@bp.get("/applications/<number>")
@roles_required("citizen")
def case(number: str) -> str:
    found = access.readable_case(number)  # the owner, or a colleague granted read access
    app = found.application
    view = access.readers_view(app, case_view(db.session, services().runtime, app, found=found))
    name = applicant_name(app.data)
    service = wording_of(app.data)  # the shared chain's words on the page: the case's service's
    access.record_view(app, "case_viewed")
    return render_template("cases/detail.html", case=view, applicant=name, kinds=DOCUMENT_KINDS,
                           statuses=STATUS_LABELS, is_owner=app.owner_id == current_actor().id,
                           service=service, apply_url=apply_url(service), assisted=access.filed_on_a_call(app, view))


@bp.get("/applications/<number>/submitted")
@roles_required("citizen")
def submitted(number: str) -> str:
    """The confirmation right after submitting: number, date and time, documents, the receipt."""
    app = access.own_application(number)
    documents = documents_of(db.session, app)
    access.record_view(app, "confirmation_viewed")
    return render_template("cases/submitted.html", number=app.number, submitted_at=app.submitted_at,
                           applicant=applicant_name(app.data), period=app.data.get("period"), documents=documents,
                           kinds=DOCUMENT_KINDS, service=service_of_process(app.process_id))


@bp.get("/applications/<number>/receipt.pdf")
@roles_required("citizen")
def receipt(number: str) -> Response:
    app = access.readable_application(number)
    return receipt_response(db.session, app_config(), app)


@bp.get("/applications/<number>/certificate.pdf")
@roles_required("citizen")
def certificate(number: str) -> Response | tuple[str, int]:
    found = access.readable_case(number)
    app = found.application
    return case_pdf_response(db.session, app_config(), app, "certificate", attachment=True, found=found,
                             missing=lambda: error_page(
        409, "Справка ещё не готова. Когда она будет готова, статус заявления сменится на «Готово к скачиванию».",
        "Справка ещё не готова"))


@bp.get("/applications/<number>/documents/<int:doc_id>")
@roles_required("citizen")
def document(number: str, doc_id: int) -> Response:
    app = access.readable_application(number)
    doc = access.document_of(app, doc_id)
    access.record_view(app, "document_viewed", {"document": doc.id})
    return access.document_response(app_config(), doc)
