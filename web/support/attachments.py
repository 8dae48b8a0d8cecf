"""Screenshots attached to a support request or message: up to five, each checked by content like any
upload (PDF, JPEG or PNG, ≤ 5 MB: tasks.cases.uploads) before anything is stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import abort, request
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from engine.errors import FieldError
from tasks.cases.models.cases import Application, Document
from tasks.cases.uploads import UploadRejected, check_upload, read_limited
from tasks.support.models import SupportAttachment, SupportMessage, SupportRequest
from tasks.support.requests import MAX_ATTACHMENTS

from ..cases.files import add_document, forget_documents
from ..extensions import db
from ..services import app_config

FIELD = "screenshots"


def chosen_files() -> list[FileStorage]:
    return [f for f in request.files.getlist(FIELD) if f and f.filename]


def read_files(files: Sequence[FileStorage]) -> tuple[list[tuple[str, bytes]], list[FieldError]]:
    """Every chosen file read and checked; the problems, one per file, at the file input."""
    if len(files) > MAX_ATTACHMENTS:
        return [], [FieldError(FIELD, "maxItems", f"Можно приложить не больше {MAX_ATTACHMENTS} файлов")]
    read: list[tuple[str, bytes]] = []
    errors: list[FieldError] = []
    for upload in files:
        try:
            data = read_limited(upload.stream)
            check_upload(data)
        except UploadRejected as exc:
            errors.append(FieldError(FIELD, exc.code, f"{upload.filename}: {exc.message}"))
            continue
        read.append((upload.filename or "screenshot", data))
    return read, errors


def upload_status(errors: Iterable[FieldError]) -> int:
    """413 when a file is too large, 415 when one is not a PDF/JPEG/PNG, else 422: as the case uploads answer."""
    codes = {e.code for e in errors}
    return 413 if "too_large" in codes else 415 if "invalid_format" in codes else 422


def store_files(owner_id: int, files: list[tuple[str, bytes]], application: Application | None = None) -> list[int]:
    """Store checked files as the owner's documents (of the case, when they go with its appeal); committed."""
    config = app_config()
    ids = [add_document(db.session, config, owner_id=owner_id, application=application, kind="other", filename=name,
                        data=data).id for name, data in files]
    db.session.commit()
    return ids


def forget_files(ids: list[int]) -> None:
    """Undo stored files when the request was refused after they were stored."""
    forget_documents(db.session, app_config(), ids)


def attachment_of(request_row: SupportRequest, doc_id: int) -> Document:
    """A file of the request's thread (404 for any other document)."""
    doc = db.session.scalar(select(Document).join(SupportAttachment, SupportAttachment.document_id == Document.id)
                            .join(SupportMessage, SupportMessage.id == SupportAttachment.message_id)
                            .where(SupportMessage.request_id == request_row.id, Document.id == doc_id))
    if doc is None:
        abort(404)
    return doc
