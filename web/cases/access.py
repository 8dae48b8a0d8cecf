"""Who may see which case: the owner, staff, or a colleague the owner of an organisation's case granted
read access to (tasks.cases.grants). Anyone else gets 404, as if the case did not exist. Actions
(resubmission, appeal, uploads) stay the owner's: a colleague reads, and sees no action but downloads.

Every read of a case's personal data is journaled with the reader (152-FZ: who, what, when).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, send_file

from engine import journal
from engine.errors import FieldError
from tasks.accounts.roles import CASE_WORKERS
from tasks.cases.grants import can_read
from tasks.cases.models.cases import Application, Document
from tasks.cases.storage import FileStore
from tasks.cases.submission import FoundCase, find_application, find_case
from tasks.config import AppConfig
from tasks.errors import ApiError
from tasks.registries.client import RegistryClient
from tasks.support.hotline import filed_by

from ..extensions import db
from ..security import current_actor
from ..services import app_config

STAFF_ROLES = CASE_WORKERS


def _find(number: str) -> Application:
    app = find_application(db.session, number)
    if app is None:
        abort(404)
    return app


def readable_application(number: str) -> Application:
    return _readable(_find(number))


def readable_case(number: str) -> FoundCase:
    """`readable_application` with what `find_case` reads with it (status, awaited messages, certificate)."""
    found = find_case(db.session, number)
    if found is None:
        abort(404)
    _readable(found.application)
    return found


def _readable(app: Application) -> Application:
    """The case if the current actor may read it; 404 otherwise, as if it did not exist."""
    actor = current_actor()
    if actor is None:
        abort(404)
    if app.owner_id == actor.id or actor.role in STAFF_ROLES:
        return app
    if app.applicant == "organization" and can_read(db.session, app, actor):  # citizens only: see grants
        return app
    abort(404)


def readers_view(app: Application, view: dict[str, Any]) -> dict[str, Any]:
    """A case view as the current reader may act on it: a granted colleague keeps only the downloads."""
    actor = current_actor()
    if actor is not None and (app.owner_id == actor.id or actor.role in STAFF_ROLES):
        return view
    return {**view, "actions": [a for a in view.get("actions", []) if a.startswith("download_")]}


def filed_on_a_call(app: Application, view: dict[str, Any]) -> dict[str, Any] | None:
    """Who filed the case on a call (`filed_by`), or None for the applicant's own filing.

    Filing on a call writes its journal row with the filing's record (tasks.support.hotline) and journal rows
    are never deleted, so a view whose journal lacks that row needs no read: every portal case is one.
    """
    if not any(entry["event"] == "hotline_filed" for entry in view.get("journal", ())):
        return None
    return filed_by(db.session, app.id)


def own_application(number: str) -> Application:
    actor = current_actor()
    app = _find(number)
    if actor is None or app.owner_id != actor.id:
        abort(404)
    return app


def document_of(app: Application, doc_id: int) -> Document:
    doc = db.session.get(Document, doc_id)
    if doc is None or doc.application_id != app.id:
        abort(404)
    return doc


def document_path(config: AppConfig, doc: Document) -> Path:
    """Where the upload's file is; 410 `erased` once the retention job deleted it (every download asks here)."""
    if doc.erased_at is not None:
        raise ApiError(410, "erased", "Файл удалён по истечении срока хранения.")
    return FileStore(config.uploads_dir).path(doc.storage_key)


# An uploaded file is the applicant's content, not ours: whatever a viewer would run in it gets no origin
# (sandbox), no scripts, no network and no forms, and only our own pages may frame it (the staff preview).
UPLOAD_CSP = ("sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
              "frame-ancestors 'self'")


def document_response(config: AppConfig, doc: Document, *, inline: bool = False) -> Response:
    """An uploaded document: a download unless `inline` (the staff preview), always under UPLOAD_CSP."""
    response = send_file(document_path(config, doc), mimetype=doc.content_type, as_attachment=not inline,
                         download_name=doc.filename)
    response.headers["Content-Security-Policy"] = UPLOAD_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def record_view(app: Application, event: str, details: dict[str, Any] | None = None) -> None:
    actor = current_actor()
    who = f"user:{actor.id}" if actor else None
    journal.record(db.session, app.instance_id, event, actor=who,
                   details={"role": actor.role if actor else None, **(details or {})})
    db.session.commit()


def field_error(field: str, code: str, message: str) -> FieldError:
    return FieldError(field, code, message)


def registry_client() -> RegistryClient:
    """One client per app, so that its circuit breakers see every request of this process."""
    client = current_app.extensions.get("registry_client")
    if client is None:
        config = app_config()
        client = RegistryClient(config.registry_url, config.registry_client)
        current_app.extensions["registry_client"] = client
    return client
