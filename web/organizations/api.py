"""JSON API of organisations' cases: colleague grants, cases shared with me, documents before submission.

- `GET /api/v1/applications/{number}/grants` -> {"items": [grant]} (the owner only; others 404)
- `POST /api/v1/applications/{number}/grants` {email, scope?: "case"|"organization", expires_at?: "YYYY-MM-DD"}
  -> 201 grant {id, email, scope, scope_label, created_at, expires_at}: the same answer whether or not
  the address has an account (rate-limited: group "grant")
- `DELETE /api/v1/applications/{number}/grants/{id}` -> 204
- `GET /api/v1/organizations/applications` -> {"items": [case summary]}: cases colleagues shared with me
- `POST /api/v1/documents` multipart `file`, `kind` -> 201: a document uploaded before the application
  (the scan of a power of attorney), then named in `document_ids` of `POST /api/v1/applications`.
- `DELETE /api/v1/documents/{id}` -> 204: the owner takes back an upload no case holds yet (404 otherwise).

Reading the grants and the shared list, granting, revoking and deleting an upload are journaled.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import journal
from tasks.cases import grants
from tasks.cases.drafts import delete_document as delete_stored_document
from tasks.cases.models.cases import Document
from tasks.cases.queries import case_status, case_summary
from tasks.cases.uploads import DOCUMENT_KINDS, MAX_DOCUMENTS
from tasks.errors import ApiError

from ..api_errors import json_object
from ..cases import access
from ..cases.files import api_upload, document_json
from ..extensions import db
from ..rate_limits import charge_attempt, rate_limited
from ..security import current_actor, roles_required
from ..services import app_config

bp = Blueprint("organizations_api", __name__, url_prefix="/api/v1")


def loose_documents(session: Session, owner_id: int) -> int:
    """How many of the owner's uploads wait for an application (neither on a case nor in a draft)."""
    return session.scalar(select(func.count()).select_from(Document).where(
        Document.owner_id == owner_id, Document.application_id.is_(None), Document.draft_id.is_(None))) or 0


def _refused(exc: grants.GrantRefused) -> ApiError:
    fields = [access.field_error(exc.field, exc.code, exc.message)] if exc.field else []
    return ApiError(exc.status, exc.code if exc.status == 409 else "validation_failed", exc.message, fields)


@bp.get("/applications/<number>/grants")
@roles_required("citizen")
def list_grants(number: str) -> Response:
    app = access.own_application(number)
    items = [g.to_dict() for g in grants.grants_of(db.session, app)]
    access.record_view(app, "access_viewed")  # the colleagues' addresses are personal data
    return jsonify({"items": items})


@bp.post("/applications/<number>/grants")
@roles_required("citizen")
@rate_limited("grant")
def add_grant(number: str) -> tuple[Response, int]:
    charge_attempt()
    app = access.own_application(number)
    body = json_object()
    try:
        view = grants.grant(db.session, app, _text(body, "email"), _text(body, "scope") or "case",
                            _text(body, "expires_at") or None)
    except grants.GrantRefused as exc:
        db.session.rollback()
        raise _refused(exc) from exc
    db.session.commit()
    return jsonify(view.to_dict()), 201


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


@bp.delete("/applications/<number>/grants/<int:grant_id>")
@roles_required("citizen")
def delete_grant(number: str, grant_id: int) -> tuple[str, int]:
    app = access.own_application(number)
    if grants.revoke(db.session, app, grant_id) is None:
        raise ApiError(404, "not_found", "Такого доступа к заявлению нет.")
    db.session.commit()
    return "", 204


@bp.get("/organizations/applications")
@roles_required("citizen")
def shared_applications() -> Response:
    """Organisations' cases other representatives let me read (each opens with GET /applications/{number})."""
    user = current_actor()
    apps = grants.shared_with(db.session, user)
    items = [case_summary(a, case_status(db.session, a)) for a in apps]
    grants.record_shared_list_view(db.session, apps, user)
    return jsonify({"items": items})


@bp.post("/documents")
@roles_required("citizen")
def upload_document() -> tuple[Response, int]:
    """A file checked by content and size, kept unattached until an application names it in document_ids."""
    owner_id = current_actor().id
    if loose_documents(db.session, owner_id) >= MAX_DOCUMENTS:
        raise ApiError(409, "too_many_documents", f"Можно загрузить не больше {MAX_DOCUMENTS} файлов, "
                                                  "ещё не приложенных к заявлению.")
    doc = api_upload(db.session, app_config(), owner_id=owner_id, application=None)
    db.session.commit()
    return jsonify(document_json(doc)), 201


@bp.delete("/documents/<int:doc_id>")
@roles_required("citizen")
def delete_document(doc_id: int) -> tuple[str, int]:
    """Take back an upload no case holds yet (a wrong scan, or one left over from a failed submission)."""
    owner_id = current_actor().id
    doc = db.session.get(Document, doc_id)
    if doc is None or doc.owner_id != owner_id or doc.application_id is not None:
        raise ApiError(404, "not_found", "Такого файла среди ваших неприложенных документов нет.")
    journal.record(db.session, None, "document_deleted", actor=f"user:{owner_id}",
                   message=f"Удалён документ, не приложенный к заявлению: {DOCUMENT_KINDS.get(doc.kind, doc.kind)}",
                   details={"document": doc.id, "kind": doc.kind, "size": doc.size})
    delete_stored_document(db.session, app_config(), doc)  # commits the journal row with the deletion
    return "", 204
