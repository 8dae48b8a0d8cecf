"""What the support pages and the support API do, in one place: file a request, write again, read one.

Both surfaces call these, so a request is checked, stored and refused the same way wherever it came
from. Nothing is changed on bad input: the text and files are all checked before a file is stored,
and stored files are removed again when the request is refused at the last moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort
from werkzeug.datastructures import FileStorage

from engine import journal
from engine.errors import DataValidationError, FieldError
from forms.validation import clean
from tasks.accounts.roles import CITIZEN, SUPPORT_STAFF
from tasks.cases.resubmission import ensure_allowed
from tasks.support.labels import APPEAL, request_number_of
from tasks.support.models import SupportRequest
from tasks.support.requests import (
    Filed,
    file_appeal_request,
    file_request,
    find_request,
    own_case,
    post_message,
    request_view,
    validate_request,
)

from ..extensions import db
from ..security import current_actor
from ..services import services
from .attachments import forget_files, read_files, store_files, upload_status


class FilesRejected(DataValidationError):
    """A chosen file is too large (413), not a PDF/JPEG/PNG by content (415) or one too many (422)."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("attachments rejected", fields)
        self.status = upload_status(fields)


def _runtime() -> Any:
    return services().runtime


def _database() -> Any:
    return services().database


def submit(owner_id: int, body: Any, files: Sequence[FileStorage], surface: str = "api") -> Filed:
    """File a request; «Обжалование отказа» becomes the case's appeal (409 ActionRefused when it cannot)."""
    data = validate_request(body, surface)
    read, errors = read_files(files)
    if errors:
        raise FilesRejected(errors)
    case = own_case(db.session, owner_id, data.get("case_number"))
    if data["type"] == APPEAL:
        ensure_allowed(_database(), _runtime(), number=data["case_number"], owner_id=owner_id, action="appeal")
    ids = store_files(owner_id, read, case if data["type"] == APPEAL else None)
    try:
        if data["type"] == APPEAL:
            return file_appeal_request(_database(), _runtime(), owner_id=owner_id, data=data, document_ids=ids)
        return file_request(_database(), _runtime(), owner_id=owner_id, data=data, document_ids=ids)
    except Exception:
        forget_files(ids)
        raise


def write(owner_id: int, number: str, body: Any, files: Sequence[FileStorage], surface: str = "api") -> None:
    """The owner's message in the thread: an answer to a question, or reopening a closed request."""
    data, errors = clean("support_message", body if isinstance(body, dict) else {}, surface=surface)
    read, file_errors = read_files(files)
    if errors or file_errors:
        if file_errors and not errors:
            raise FilesRejected(file_errors)
        raise DataValidationError("message is invalid", [*errors, *file_errors])
    db.session.commit()
    ids = store_files(owner_id, read)
    try:
        post_message(_database(), _runtime(), number=number, owner_id=owner_id, text=data["text"], document_ids=ids)
    except Exception:
        forget_files(ids)
        raise


def readable_request(number: str) -> SupportRequest:
    """The request for its owner or the support staff (journaled: a request holds personal data); 404 for
    anyone else's citizen account, as if it did not exist. Other staff roles are refused by the route."""
    actor = current_actor()
    canonical = request_number_of(number)
    found = find_request(db.session, canonical) if canonical else None
    if found is None or actor is None:
        abort(404)
    if actor.role == CITIZEN:
        if found.owner_id != actor.id:
            abort(404)
        return found
    if actor.role not in SUPPORT_STAFF:
        abort(403)
    journal.record(db.session, found.instance_id, "support_viewed", actor=f"user:{actor.id}",
                   details={"role": actor.role, "request": found.number})
    db.session.commit()
    return found


def own_request(number: str) -> SupportRequest:
    actor = current_actor()
    canonical = request_number_of(number)
    found = find_request(db.session, canonical) if canonical else None
    if found is None or actor is None or found.owner_id != actor.id:
        abort(404)
    return found


def support_thread(number: str | None) -> dict[str, Any] | None:
    """The support request a staff task answers (its thread beside the reply form), or None for a case's task.
    The caller journals the reading (the inbox's `case_viewed`)."""
    found = find_request(db.session, number) if number and request_number_of(number) == number else None
    return request_view(db.session, _runtime(), found) if found is not None else None
