"""Everything the service holds about a citizen, as one zip: `data.json` and their files under `files/`.

The account (without secrets: no password hash, TOTP secret or tokens), every application with each
attempt as submitted, its documents, certificates, refusal decisions, appeals and the history the
applicant sees, wizard drafts, doctor's appointments, notifications, support requests with their threads
(the citizen's messages, the specialists' answers, attached screenshots) and the log of who read their data.
Files are added when they are still stored (retention may have deleted old scans: the entry says so).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import utcnow
from tasks.accounts.models import User
from tasks.accounts.profile import account_json
from tasks.appointments.booking import status_of as appointment_status
from tasks.appointments.models import Appointment
from tasks.cases.decisions import refusal_path
from tasks.cases.labels import status_label
from tasks.cases.models.cases import (
    Appeal,
    Application,
    ApplicationAttempt,
    Certificate,
    Document,
    Draft,
    RefusalDecision,
)
from tasks.cases.models.notifications import Notification
from tasks.cases.queries import case_status, journal_view
from tasks.cases.storage import FileStore
from tasks.config import AppConfig
from tasks.support.labels import TYPE_LABELS
from tasks.support.labels import status_label as support_status_label
from tasks.support.models import SupportAttachment, SupportMessage
from tasks.support.requests import list_requests, request_status, thread
from tasks.tracker.access_log import access_rows


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in names}


class _Archive:
    """The zip being written: files are added once and referred to by their path inside it."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.zip = zipfile.ZipFile(self.buffer, "w", zipfile.ZIP_DEFLATED)
        self.names: set[str] = set()

    def add_file(self, path: Path | None, name: str) -> str | None:
        """Add a stored file once (a support screenshot is also one of the owner's documents)."""
        if path is None or not path.is_file():
            return None
        if f"files/{name}" not in self.names:
            self.zip.write(path, f"files/{name}")
            self.names.add(f"files/{name}")
        return f"files/{name}"

    def finish(self, data: dict[str, Any]) -> bytes:
        self.zip.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=_plain))
        self.zip.close()
        return self.buffer.getvalue()


def _document_file(uploads: FileStore, archive: _Archive, doc: Document) -> str | None:
    stored = None if doc.erased_at else uploads.path(doc.storage_key)
    return archive.add_file(stored, f"documents/{doc.id}-{Path(doc.filename).name}")


def _documents(session: Session, config: AppConfig, archive: _Archive, owner_id: int,
               application_id: int | None) -> list[dict[str, Any]]:
    uploads = FileStore(config.uploads_dir)
    out = []
    held_by = Document.application_id.is_(None) if application_id is None else \
        Document.application_id == application_id
    for doc in session.scalars(select(Document).where(Document.owner_id == owner_id, held_by)):
        out.append({**_row(doc, "id", "kind", "filename", "content_type", "size", "uploaded_at", "erased_at"),
                    "file": _document_file(uploads, archive, doc)})
    return out


def _application(session: Session, config: AppConfig, archive: _Archive, app: Application) -> dict[str, Any]:
    status = case_status(session, app)
    documents_dir = FileStore(config.documents_dir)
    attempts = session.scalars(select(ApplicationAttempt).where(ApplicationAttempt.application_id == app.id)
                               .order_by(ApplicationAttempt.attempt))
    certificates = session.scalars(select(Certificate).where(Certificate.application_id == app.id))
    decisions = session.scalars(select(RefusalDecision).where(RefusalDecision.application_id == app.id))
    appeals = session.scalars(select(Appeal).where(Appeal.application_id == app.id).order_by(Appeal.id))
    return {
        **_row(app, "number", "applicant", "attempt", "submitted_at", "updated_at", "data"),
        "status": status, "status_label": status_label(status),
        "attempts": [_row(a, "attempt", "data", "comment", "document_ids", "submitted_at") for a in attempts],
        "documents": _documents(session, config, archive, app.owner_id, app.id),
        "certificates": [{**_row(c, "number", "kind", "holder_masked", "period_from", "period_to", "issued_at",
                                 "revoked"),
                          "file": archive.add_file(documents_dir.path(c.storage_key), f"certificates/{c.number}.pdf")}
                         for c in certificates],
        "refusal_decisions": [{**_row(d, "number", "attempt", "reasons", "explanation", "issued_at"),
                               "file": archive.add_file(refusal_path(config, d),
                                                        f"decisions/{d.number.replace('/', '-')}.pdf")}
                              for d in decisions],
        "appeals": [_row(a, "number", "level", "grounds", "document_ids", "status", "filed_at", "due_at",
                         "decided_at", "outcome", "decision_comment") for a in appeals],
        "history": journal_view(session, app, staff=False),
    }


def _support_requests(session: Session, config: AppConfig, archive: _Archive, owner_id: int) -> list[dict[str, Any]]:
    """The owner's support requests with the whole thread as the cabinet shows it, and the attached files."""
    uploads = FileStore(config.uploads_dir)
    out = []
    for request in reversed(list_requests(session, owner_id, limit=10_000)):
        messages = thread(session, request)
        docs = {doc.id: doc for doc in session.scalars(
            select(Document).join(SupportAttachment, SupportAttachment.document_id == Document.id)
            .where(SupportAttachment.message_id.in_(
                select(SupportMessage.id).where(SupportMessage.request_id == request.id))))}
        for message in messages:
            message["attachments"] = [
                {**attachment, **_row(docs[attachment["id"]], "size", "uploaded_at", "erased_at"),
                 "file": _document_file(uploads, archive, docs[attachment["id"]])}
                for attachment in message["attachments"]]
        status = request_status(session, request)
        out.append({**_row(request, "number", "type", "case_number", "appeal_number", "created_at", "due_at"),
                    "type_label": TYPE_LABELS[request.type], "status": status,
                    "status_label": support_status_label(status), "messages": messages})
    return out


def export_archive(session: Session, config: AppConfig, user: User, *, with_names: bool) -> bytes:
    """The zip of everything held about `user` (see the module's docstring)."""
    archive = _Archive()
    apps = session.scalars(select(Application).where(Application.owner_id == user.id).order_by(Application.id))
    drafts = session.scalars(select(Draft).where(Draft.owner_id == user.id))
    notes = session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    bookings = session.scalars(select(Appointment).where(Appointment.owner_id == user.id).order_by(Appointment.id))
    data = {
        "generated_at": utcnow().isoformat(),
        "account": {**account_json(user), "created_at": _plain(user.created_at),
                    "activated_at": _plain(user.activated_at)},
        "applications": [_application(session, config, archive, app) for app in apps],
        "drafts": [_row(d, "applicant", "step", "data", "updated_at") for d in drafts],
        "documents_without_application": _documents(session, config, archive, user.id, None),
        "support_requests": _support_requests(session, config, archive, user.id),
        "notifications": [_row(n, "case_number", "event", "title", "text", "created_at", "read_at") for n in notes],
        "appointments": [{**_row(a, "number", "certificate_number", "specialty", "slot", "organization", "created_at"),
                          "status": appointment_status(session, a)} for a in bookings],
        "access_log": [r.as_json() for r in access_rows(session, user.id, with_names=with_names)],
    }
    return archive.finish(data)
