"""Resubmission («Подать повторно»): the same case, the next attempt, the checks run again.

The corrected application reaches the waiting process instance as the BPMN message
``application_updated`` (after a refusal or a request for information); the diagram then checks
everything again and a review, if one is needed, is due within ``sla("resubmission")``. Every
attempt's data is kept in ``application_attempt``; ``Application.data`` is the current attempt.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.db import Database
from engine.errors import DataValidationError, FieldError, NotFound, UndeliverableMessage
from engine.runtime import Runtime
from forms.validation import clean

from .actions import RESUBMIT_MESSAGE, ActionRefused, CaseState, reply_deadline, require, waiting_messages
from .models.cases import Application, ApplicationAttempt, Document
from .queries import case_status
from .representatives import resubmitted_representative
from .submission import applicant_name, find_application, search_columns, validate_application

# Which parts of the application each refusal reason is about: the resubmission form highlights them.
# An organisation's reasons point at its requisites; its employees' policies are in the list, which is
# replaced on its own page before resubmitting.
REASON_FIELDS: dict[str, tuple[str, ...]] = {
    "personal_data_mismatch": ("person.last_name", "person.first_name", "person.middle_name", "person.birth_date",
                               "person.passport", "person.snils", "organization.name", "organization.inn",
                               "organization.kpp", "organization.ogrn"),
    "no_insurance_record": ("policy_number", "period"),
    "contributions_unpaid": (),
    "policy_expired": ("policy_number", "period"),
    "policy_not_found": ("policy_number",),
    "documents_missing": ("documents",),
}
# What a resubmission may change: the application itself, not who applies. The consent is given
# again with every attempt made on a page (the form asks for it, as the wizard does).
CHANGEABLE = ("person", "policy_number", "period", "consent")
CHANGEABLE_BY_APPLICANT = {"individual": CHANGEABLE,
                           "organization": ("organization", "representative", "period", "consent")}


def changeable(applicant: str) -> tuple[str, ...]:
    """The parts of an application of this kind that a resubmission may change."""
    return CHANGEABLE_BY_APPLICANT.get(applicant, CHANGEABLE)


@dataclass(frozen=True)
class Resubmitted:
    number: str
    attempt: int


def highlighted_fields(reasons: Sequence[dict[str, Any]]) -> set[str]:
    """Field paths (and their parents' paths) that the refusal reasons concern."""
    fields: set[str] = set()
    for reason in reasons:
        for path in REASON_FIELDS.get(str(reason.get("code")), ()):
            fields.add(path)
    return fields


def merge_changes(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` laid over it: objects merge key by key, anything else is replaced.

    A key set to ``None`` removes an optional value (an отчество typed by mistake).
    """
    merged = copy.deepcopy(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_changes(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def case_state(session: Session, runtime: Runtime, app: Application) -> CaseState:
    """What the case's process allows now: its status, the messages it waits for and the reply deadline."""
    status = case_status(session, app)
    waiting = waiting_messages(session, app)
    data = runtime.workflow_data(app.instance_id, session) if waiting and app.instance_id else {}
    return CaseState(status, waiting, reply_deadline(data))


def validate_extras(body: dict[str, Any], schema: str, surface: str) -> dict[str, Any]:
    """The non-application part of a request (comment, answer, grounds, documents), or DataValidationError."""
    normalized, errors = clean(schema, body, surface=surface)  # type: ignore[arg-type]
    if errors:
        raise DataValidationError("request data is invalid", errors)
    return normalized


def check_documents(session: Session, app: Application, ids: Sequence[int]) -> None:
    """Documents referred to must be files uploaded to this very case."""
    if not ids:
        return
    found = set(session.scalars(select(Document.id).where(Document.id.in_(list(ids)),
                                                         Document.application_id == app.id)))
    missing = [i for i in ids if i not in found]
    if missing:
        raise DataValidationError("unknown documents", [FieldError(
            "documents", "unknown", "Документы не найдены среди файлов этого заявления: "
            + ", ".join(str(i) for i in missing))])


@dataclass(frozen=True)
class Prepared:
    """A validated resubmission, ready to be delivered."""

    number: str
    owner_id: int
    attempt: int
    payload: dict[str, Any]


def allowed_case(session: Session, runtime: Runtime, *, number: str, owner_id: int, action: str) -> Application:
    """The owner's case when it allows ``action`` now: every citizen action starts with these checks.

    NotFound when the case is not the owner's, ActionRefused when ``action`` is not allowed now.
    """
    app = find_application(session, number)
    if app is None or app.owner_id != owner_id:
        raise NotFound(number)
    require(action, case_state(session, runtime, app))
    return app


def ensure_allowed(db: Database, runtime: Runtime, *, number: str, owner_id: int, action: str) -> None:
    """NotFound when the case is not the owner's, ActionRefused when ``action`` is not allowed now."""
    with db.session() as s:
        allowed_case(s, runtime, number=number, owner_id=owner_id, action=action)


def prepare_resubmission(db: Database, runtime: Runtime, *, number: str, owner_id: int, owner_email: str,
                         body: dict[str, Any], surface: str = "api") -> Prepared:
    """Validate a resubmission without changing anything: the case must wait for one and the data be valid."""
    body = dict(body)
    extras = {k: body.pop(k) for k in ("comment", "documents") if k in body}
    with db.session() as s:
        app = allowed_case(s, runtime, number=number, owner_id=owner_id, action="resubmit")
        unknown = [k for k in body if k not in changeable(app.applicant)]
        errors = [FieldError(k, "unknown_field", "Это поле нельзя изменить при повторной подаче") for k in unknown]
        if errors:
            raise DataValidationError("unknown fields", errors)
        extras = validate_extras(extras, "resubmission", surface)
        check_documents(s, app, extras.get("documents") or [])
        data = validate_application(merge_changes(app.data, body), surface=surface)
        data, problems = resubmitted_representative(s, owner_id, app.id, data)
        if problems:
            raise DataValidationError("application data is invalid", problems)
        attempt = app.attempt + 1
    case = {"number": number, "attempt": attempt, "applicant_name": applicant_name(data), "email": owner_email}
    payload = {"application": data, "case": case, "comment": (extras.get("comment") or "").strip() or None,
               "documents": list(extras.get("documents") or [])}
    return Prepared(number, owner_id, attempt, payload)


def resubmit(db: Database, runtime: Runtime, *, number: str, owner_id: int, owner_email: str,
             body: dict[str, Any], surface: str = "api") -> Resubmitted:
    """Validate the changes, deliver them to the waiting process, keep the attempt.

    Nothing changes when the input is invalid (DataValidationError) or the case does not wait for a
    resubmission (ActionRefused). The message is delivered first: it is the step that may be refused
    (a second tab resubmitting at the same time, a deadline that fired), and the process carries the
    data on to ``cases.record_attempt``, which stores the attempt even if this request dies right after.
    """
    prepared = prepare_resubmission(db, runtime, number=number, owner_id=owner_id, owner_email=owner_email,
                                    body=body, surface=surface)
    try:
        runtime.deliver_message(RESUBMIT_MESSAGE, number, prepared.payload, actor=f"user:{owner_id}")
    except UndeliverableMessage as exc:
        raise ActionRefused("not_allowed", "Заявление уже подано повторно или больше не ждёт исправлений.") from exc
    payload = prepared.payload
    record_attempt(db, number=number, attempt=prepared.attempt, application=payload["application"],
                   comment=payload["comment"], documents=payload["documents"])
    return Resubmitted(number, prepared.attempt)


def record_attempt(db: Database, *, number: str, attempt: int, application: dict[str, Any],
                   comment: str | None, documents: Sequence[int]) -> None:
    """Keep the attempt's data and make it the case's current data; running it twice changes nothing.

    The first attempt is kept too (from the case's original data), so every attempt is on record.
    """
    now = utcnow()
    with db.session() as s:
        app = find_application(s, number)
        if app is None:
            raise NotFound(f"case {number} does not exist")
        kept = set(s.scalars(select(ApplicationAttempt.attempt).where(ApplicationAttempt.application_id == app.id)))
        if attempt in kept:
            return
        if 1 not in kept and attempt > 1 and app.attempt == 1:
            s.add(ApplicationAttempt(application_id=app.id, attempt=1, data=app.data, comment=None, document_ids=[],
                                     submitted_at=app.submitted_at))
        s.add(ApplicationAttempt(application_id=app.id, attempt=attempt, data=application, comment=comment,
                                 document_ids=list(documents), submitted_at=now))
        try:
            s.flush()  # before the UPDATE below, whose statement would flush these rows outside this try
        except IntegrityError:  # the web request and the process's service task raced: the winner did it all
            s.rollback()
            return
        if attempt > app.attempt:
            s.execute(update(Application).where(Application.id == app.id).values(
                attempt=attempt, data=application, updated_at=now, **search_columns(application)))

