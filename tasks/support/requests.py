"""Filing a support request, the citizen's later messages, and the request as its owner or staff read it.

A request is a process instance of workflows/support_request.bpmn (business key: the request's number),
started in the same transaction as the request's rows. The citizen's message reaches the waiting
instance as the BPMN message `support_message`; the instance decides whether it may (a reply or a
closure less than `support_reopen` ago). «Обжалование отказа» starts no process of its own: it files
the case's appeal (tasks.cases.appeals.file_appeal), so there is one appeal, whichever page it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.clock import aware, utcnow
from engine.db import Database
from engine.errors import DataValidationError, FieldError, NotFound, UndeliverableMessage
from engine.models import MessageSubscription, ProcessInstance
from engine.runtime import InstanceInfo, Runtime
from forms.validation import clean
from tasks.cases.actions import ActionRefused
from tasks.cases.appeals import file_appeal
from tasks.cases.models.cases import Application, Document
from tasks.cases.numbering import case_number_of, next_counter_value
from tasks.cases.terms import sla_term

from .labels import APPEAL, KIND_LABELS, STAFF_KINDS, TYPE_LABELS, format_request_number, status_label
from .models import SupportAttachment, SupportCounter, SupportMessage, SupportRequest

PROCESS = "support_request"
MESSAGE = "support_message"
MAX_ATTACHMENTS = 5


@dataclass(frozen=True)
class Filed:
    number: str
    type: str
    status: str
    due_at: datetime | None
    appeal_number: str | None = None


def validate_request(body: Any, surface: str = "api") -> dict[str, Any]:
    """The request's fields normalised, or DataValidationError with every problem at its field."""
    data, errors = clean("support_request", body, surface=surface)
    if not errors and data["type"] == APPEAL and not (data.get("case_number") or "").strip():
        errors = [FieldError("case_number", "required", "Укажите номер заявления, отказ по которому вы обжалуете")]
    if errors:
        raise DataValidationError("support request is invalid", errors)
    if data.get("case_number"):
        data["case_number"] = case_number_of(data["case_number"])
    return data


def own_case(session: Session, owner_id: int, number: str | None) -> Application | None:
    """The citizen's case the request is about; a number that is not theirs is a field error, like a typo."""
    if not number:
        return None
    app = session.scalar(select(Application).where(Application.number == number))
    if app is None or app.owner_id != owner_id:
        raise DataValidationError("unknown case", [FieldError(
            "case_number", "not_found", "Заявление с таким номером не найдено среди ваших заявлений")])
    return app


def file_request(db: Database, runtime: Runtime, *, owner_id: int, data: dict[str, Any],
                 document_ids: Sequence[int] = ()) -> Filed:
    """Number the request and start its process with its first message, in one transaction.

    `data` comes from `validate_request`; `document_ids` are screenshots already checked and stored.
    """
    now = utcnow()
    with db.session() as s:
        own_case(s, owner_id, data.get("case_number"))
        number = format_request_number(now.year, next_counter_value(s, SupportCounter, now.year))

    def attach(s: Session, info: InstanceInfo) -> None:
        request = SupportRequest(number=number, owner_id=owner_id, type=data["type"],
                                 case_number=data.get("case_number"), instance_id=info.id, created_at=now)
        s.add(request)
        s.flush()
        add_message(s, request, owner_id, "request", data["text"], document_ids, now)

    support = {"number": number, "type": data["type"], "type_label": TYPE_LABELS[data["type"]],
               "case_number": data.get("case_number"), "filed_at": now.isoformat()}
    info = runtime.start(PROCESS, {"support": support}, business_key=number, owner=str(owner_id),
                         actor=f"user:{owner_id}", before_commit=attach)
    due = runtime.workflow_data(info.id).get("reply_due")
    due_at = datetime.fromisoformat(due) if isinstance(due, str) else None
    with db.session() as s:
        s.execute(update(SupportRequest).where(SupportRequest.number == number).values(due_at=due_at))
    return Filed(number, data["type"], info.status or "open", due_at)


def file_appeal_request(db: Database, runtime: Runtime, *, owner_id: int, data: dict[str, Any],
                        document_ids: Sequence[int] = ()) -> Filed:
    """«Обжалование отказа»: the case's own appeal, with the request's text as its grounds; the request
    records which appeal it became. Refused (409) when the case does not wait for an appeal."""
    try:
        filed = file_appeal(db, runtime, number=data["case_number"], owner_id=owner_id,
                            body={"grounds": data["text"], "documents": list(document_ids)})
    except DataValidationError as exc:
        raise DataValidationError(str(exc), [FieldError("text" if e.field == "grounds" else e.field, e.code, e.message)
                                             for e in exc.fields]) from exc
    except NotFound as exc:
        raise DataValidationError("unknown case", [FieldError(
            "case_number", "not_found", "Заявление с таким номером не найдено среди ваших заявлений")]) from exc
    now = utcnow()
    with db.session() as s:
        number = format_request_number(now.year, next_counter_value(s, SupportCounter, now.year))
        request = SupportRequest(number=number, owner_id=owner_id, type=APPEAL, case_number=data["case_number"],
                                 appeal_number=filed.appeal_number, created_at=now, due_at=filed.due_at)
        s.add(request)
        s.flush()
        add_message(s, request, owner_id, "request", data["text"], (), now)
    return Filed(number, APPEAL, "appeal", filed.due_at, filed.appeal_number)


def add_message(s: Session, request: SupportRequest, author_id: int | None, kind: str, text: str,
                document_ids: Sequence[int], at: datetime, dedup_key: str | None = None) -> SupportMessage:
    message = SupportMessage(request_id=request.id, author_id=author_id, kind=kind, text=text.strip(), created_at=at,
                             dedup_key=dedup_key)
    s.add(message)
    s.flush()
    for doc_id in document_ids:
        s.add(SupportAttachment(message_id=message.id, document_id=doc_id))
    return message


def post_message(db: Database, runtime: Runtime, *, number: str, owner_id: int, text: str,
                 document_ids: Sequence[int] = ()) -> None:
    """The citizen writes again: an answer to a question, or a reopening after a reply or closure.

    The message is stored, then delivered to the instance; when the instance no longer waits (the
    reopening term passed, or the specialist has not answered yet) it is removed again and the
    request refused with ActionRefused: nothing changes.
    """
    text = (text or "").strip()
    with db.session() as s:
        request = find_request(s, number)
        if request is None or request.owner_id != owner_id:
            raise NotFound(number)
        if request.instance_id is None:
            raise ActionRefused("not_allowed", "Это обращение стало жалобой на отказ: следите за ней на странице "
                                               "заявления.")
        message_id = add_message(s, request, owner_id, "message", text, document_ids, utcnow()).id
    try:
        runtime.deliver_message(MESSAGE, number, {"text": text}, actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        with db.session() as s:
            s.execute(delete(SupportAttachment).where(SupportAttachment.message_id == message_id))
            s.execute(delete(SupportMessage).where(SupportMessage.id == message_id))
        raise ActionRefused("not_allowed", "Сейчас написать в это обращение нельзя: специалист ещё готовит ответ "
                                           f"или прошло больше {sla_term('support_reopen')} после ответа. "
                                           "Создайте новое обращение.") from exc


def find_request(session: Session, number: str) -> SupportRequest | None:
    return session.scalar(select(SupportRequest).where(SupportRequest.number == number))


def request_status(session: Session, request: SupportRequest) -> str:
    if request.instance_id is None:
        return "appeal"
    return session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == request.instance_id)) or "open"


def awaits_citizen(session: Session, request: SupportRequest) -> bool:
    """Whether the request's process waits for the citizen's message now (a reply or closure, not expired)."""
    if request.instance_id is None:
        return False
    found = session.scalar(select(MessageSubscription.id).where(
        MessageSubscription.instance_id == request.instance_id, MessageSubscription.message_name == MESSAGE))
    return found is not None


def thread(session: Session, request: SupportRequest) -> list[dict[str, Any]]:
    """The messages oldest first, each with its files (id, name): what the cabinet and the inbox show."""
    messages = session.scalars(select(SupportMessage).where(SupportMessage.request_id == request.id)
                               .order_by(SupportMessage.created_at, SupportMessage.id)).all()
    files: dict[int, list[dict[str, Any]]] = {}
    if messages:
        columns = (SupportAttachment.message_id, Document.id, Document.filename, Document.content_type)
        rows = session.execute(select(*columns)
                               .join(Document, Document.id == SupportAttachment.document_id)
                               .where(SupportAttachment.message_id.in_([m.id for m in messages]))).all()
        for message_id, doc_id, filename, content_type in rows:
            files.setdefault(message_id, []).append({"id": doc_id, "filename": filename, "content_type": content_type})
    return [{"at": aware(m.created_at).isoformat(), "kind": m.kind, "kind_label": KIND_LABELS[m.kind],
             "staff": m.kind in STAFF_KINDS, "text": m.text, "attachments": files.get(m.id, [])} for m in messages]


def request_view(session: Session, runtime: Runtime, request: SupportRequest) -> dict[str, Any]:
    """The request as the API returns it (and the pages print it)."""
    status = request_status(session, request)
    waiting = awaits_citizen(session, request)
    reply_until = None
    if waiting and request.instance_id is not None:
        reply_until = runtime.workflow_data(request.instance_id, session).get("wait_until")
    return {"number": request.number, "type": request.type, "type_label": TYPE_LABELS[request.type],
            "case_number": request.case_number, "appeal_number": request.appeal_number,
            "status": status, "status_label": status_label(status),
            "created_at": aware(request.created_at).isoformat(),
            "due_at": aware(request.due_at).isoformat() if request.due_at else None,
            "reply_until": reply_until, "messages": thread(session, request),
            "actions": ["message"] if waiting else []}


def list_requests(session: Session, owner_id: int | None, limit: int = 50, offset: int = 0) -> list[SupportRequest]:
    """The owner's requests (or, with None, everyone's: support staff), newest first."""
    query = select(SupportRequest)
    if owner_id is not None:
        query = query.where(SupportRequest.owner_id == owner_id)
    return list(session.scalars(query.order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
                                .limit(limit).offset(offset)))
