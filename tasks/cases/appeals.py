"""Appeals against a refusal («Обжалование отказа») and answers to an appeal's request for information.

An appeal is filed by the applicant while the refused case waits for it; it reaches the instance as
the BPMN message ``appeal_filed`` and the diagram routes it: level 1 to the appeals specialist, after
an upheld level-1 appeal level 2 to the higher authority. The due date is worked out once, by the
diagram when it registers the appeal (``appeal_due``, the value its review timer waits for), and read
from there for the answer, the appeal's row and the decision record, so the date printed for the
applicant and the moment the task escalates cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.clock import parse_iso, utcnow
from engine.context import get_services
from engine.db import Database
from engine.errors import NotFound, UndeliverableMessage
from engine.runtime import Runtime

from .actions import ANSWER_MESSAGE, APPEAL_MESSAGE, ActionRefused
from .models.cases import Appeal
from .resubmission import allowed_case, check_documents, validate_extras
from .submission import find_application

DUE_VARIABLE = "appeal_due"  # set by the diagram where the appeal's review timer starts


def due_date(set_by_diagram: str | None, appeal: dict[str, Any]) -> datetime:
    """The appeal's due date as the diagram set it.

    Cases that started on a version from before the diagram set ``appeal_due`` keep running on that
    version after an upgrade; their review timer was ``sla("appeal_review", filed_at)``, so that same
    script function gives them the date their timer waits for (and only them).
    """
    if set_by_diagram:
        return parse_iso(set_by_diagram)
    return parse_iso(get_services().script_env.functions["sla"]("appeal_review", appeal["filed_at"]))


@dataclass(frozen=True)
class Filed:
    appeal_number: str
    level: int
    filed_at: datetime
    due_at: datetime


def appeal_number(case_number: str, level: int) -> str:
    """A-2026-000123 for the first appeal of case 2026-000123, A-2026-000123/2 for the second level."""
    return f"A-{case_number}" if level == 1 else f"A-{case_number}/{level}"


def file_appeal(db: Database, runtime: Runtime, *, number: str, owner_id: int,
                body: dict[str, Any], surface: str = "api") -> Filed:
    """Validate, deliver the appeal to the waiting process, register it with the due date the process set.

    Nothing changes on invalid input (DataValidationError) or when the case does not wait for an
    appeal (ActionRefused, HTTP 409).
    """
    with db.session() as s:
        app = allowed_case(s, runtime, number=number, owner_id=owner_id, action="appeal")
        data = validate_extras(body, "appeal", surface)
        check_documents(s, app, data.get("documents") or [])
        level = (s.scalar(select(func.count()).select_from(Appeal).where(Appeal.application_id == app.id)) or 0) + 1
        application_id = app.id
    filed_at = utcnow()
    appeal = {"number": appeal_number(number, level), "level": level, "filed_at": filed_at.isoformat(),
              "grounds": data["grounds"].strip(), "documents": list(data.get("documents") or [])}
    try:
        info = runtime.deliver_message(APPEAL_MESSAGE, number, {**appeal}, actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        raise ActionRefused("not_allowed", "Жалоба уже подана или срок обжалования истёк.") from exc
    due_at = due_date(runtime.workflow_data(info.id).get(DUE_VARIABLE), appeal)
    register_appeal(db, application_id, appeal, due_at)
    return Filed(appeal["number"], level, filed_at, due_at)


def register_appeal(db: Database, application_id: int, appeal: dict[str, Any], due_at: datetime) -> Appeal:
    """Store the appeal once (the web request, or the decision's service task if the request died)."""
    with db.session() as s:
        existing = s.scalar(select(Appeal).where(Appeal.number == appeal["number"]))
        if existing is not None:
            return existing
        row = Appeal(number=appeal["number"], application_id=application_id, level=int(appeal["level"]),
                     grounds=appeal["grounds"], document_ids=list(appeal.get("documents") or []),
                     status="registered", filed_at=parse_iso(appeal["filed_at"]), due_at=due_at)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            s.rollback()
            return s.scalar(select(Appeal).where(Appeal.number == appeal["number"]))
        return row


def answer_request(db: Database, runtime: Runtime, *, number: str, owner_id: int, body: dict[str, Any],
                   surface: str = "api") -> None:
    """The applicant's answer to an appeal's request for information, delivered as a BPMN message."""
    with db.session() as s:
        app = allowed_case(s, runtime, number=number, owner_id=owner_id, action="answer")
        data = validate_extras(body, "appeal_answer", surface)
        check_documents(s, app, data.get("documents") or [])
    payload = {"answer": data["answer"].strip(), "documents": list(data.get("documents") or []),
               "answered_at": utcnow().isoformat()}
    try:
        runtime.deliver_message(ANSWER_MESSAGE, number, payload, actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        raise ActionRefused("not_allowed", "Ответ уже отправлен или запрос больше не действует.") from exc


def record_decision(db: Database, *, number: str, appeal: dict[str, Any], due_at: datetime, outcome: str,
                    comment: str | None) -> Appeal:
    """Record the outcome of an appeal; running it twice changes nothing.

    A request for information is not final: the appeal waits (``info_requested``) with the request
    as its comment, and the decision after the answer replaces both."""
    with db.session() as s:
        app = find_application(s, number)
        if app is None:
            raise NotFound(f"case {number} does not exist")
        application_id = app.id
    register_appeal(db, application_id, appeal, due_at)
    with db.session() as s:
        row = s.scalar(select(Appeal).where(Appeal.number == appeal["number"]).with_for_update())
        if row.status != "decided":
            status = "info_requested" if outcome == "request_info" else "decided"
            row.status, row.outcome, row.decision_comment, row.decided_at = status, outcome, comment, utcnow()
        s.flush()
        s.expunge(row)
        return row

