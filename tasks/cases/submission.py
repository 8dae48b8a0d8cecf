"""Submitting an application: validate, number it, store it and start its process, atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine import pending_rows
from engine.clock import utcnow
from engine.db import Database
from engine.errors import DataValidationError, FieldError
from engine.models import MessageSubscription, ProcessInstance
from engine.runtime import InstanceInfo, Runtime
from forms.validation import clean, load_schema
from tasks.accounts.models import User
from tasks.registries.matching import organization_search_name

from .catalogue import Service, service_for
from .models.cases import Application, ApplicationAttempt, Certificate, Document
from .numbering import case_number_of, next_case_number
from .representatives import (
    account_full_name,
    is_organization,
    record_representative,
    representative_problems,
    with_representative_name,
    without_unused_authority,
)

# Built once: every submission runs it.
_INSERT_APPLICATION = insert(Application.__table__).returning(Application.__table__.c.id)


@dataclass(frozen=True)
class Submitted:
    application_id: int
    number: str
    submitted_at: Any
    status: str


def application_service(data: Any) -> Service:
    """The catalogued service an application asks for (its "service", else its applicant kind's default)."""
    if not isinstance(data, dict):
        raise DataValidationError("application must be a JSON object")
    found = service_for(data)
    if found is not None:
        return found
    if "service" in data:
        raise DataValidationError("unknown service", [FieldError(
            "service", "enum", "Такой услуги нет: выберите услугу из списка на главной странице портала")])
    raise DataValidationError("unsupported applicant kind", [FieldError(
        "applicant", "enum", "Этот вид заявителя пока не поддерживается: подайте заявление как гражданин")])


def validate_application(data: Any, surface: str = "api") -> dict[str, Any]:
    """The normalised application, or DataValidationError with every field problem."""
    service = application_service(data)
    if "service" not in load_schema(service.schema).get("properties", {}):
        data = {k: v for k, v in data.items() if k != "service"}  # the certificate forms predate the field
    normalized, errors = clean(service.schema, without_unused_authority(data), surface=surface)
    if errors:
        raise DataValidationError("application data is invalid", errors)
    return normalized


def applicant_name(data: dict[str, Any]) -> str:
    if data.get("applicant") == "organization":
        return data["organization"]["name"]
    p = data["person"]
    return " ".join(x for x in (p["last_name"], p["first_name"], p.get("middle_name")) if x)


def search_columns(data: dict[str, Any]) -> dict[str, Any]:
    """The indexed copies of an application's data the staff search uses; written with every attempt.

    An organisation is searched by the name people say («ромашка», not «общество с ...»), so its
    search name starts with the name stripped of quotes and legal form, then the ИНН and the full name.
    """
    if data.get("applicant") == "organization":
        org = data["organization"]
        return {"search_name": organization_search_name(org["name"], org["inn"]), "snils": None}
    return {"search_name": applicant_name(data).lower().replace("ё", "е"),
            "snils": (data.get("person") or {}).get("snils")}  # normalised: digits only


def submit_application(db: Database, runtime: Runtime, owner_id: int, owner_email: str, data: dict[str, Any],
                       document_ids: Sequence[int] = (),
                       on_created: Callable[[Session, Application], None] | None = None) -> Submitted:
    """Create the case and its process instance in one transaction; documents move onto the case.

    For an organisation the representative's ФИО comes from the account, and a representative by
    power of attorney must bring its scan among `document_ids`; both are recorded with the case.
    `on_created` adds the caller's own rows in the same transaction (the hotline's record of who filed)
    or takes what it needs of the new case (the API's view of it) before the commit.
    The number, the case and its process commit together: one commit per application. The counter row
    stays locked until then, so concurrent submissions take their numbers one after another
    (tasks.cases.numbering).
    """
    data = validate_application(data)
    service = application_service(data)
    now = utcnow()
    created: dict[str, Any] = {}

    def attach(s: Session, info: InstanceInfo) -> None:
        row = {"number": number, "attempt": 1, "applicant": service.applicant, "owner_id": owner_id,
               "process_id": service.process, "instance_id": info.id, "data": data, "submitted_at": now,
               "updated_at": now, **search_columns(data)}
        # A plain INSERT on the transaction's connection: the ORM's flush of one new object (its unit of work)
        # bought nothing here but CPU, and a statement through the session would write the transaction's
        # pending outbox rows first, in a statement of their own (engine.pending_rows), which the INSERT
        # does not read. The object handed on is the row as written, not tracked by the session.
        app = Application(id=s.connection().execute(_INSERT_APPLICATION, row).scalar_one(), **row)
        pending_rows.add(s, ApplicationAttempt.__table__, {
            "application_id": app.id, "attempt": 1, "data": data, "comment": None,
            "document_ids": list(document_ids), "submitted_at": now})
        record_representative(s, app, owner_id, document_ids)
        if document_ids:
            s.execute(update(Document).where(Document.id.in_(list(document_ids)), Document.owner_id == owner_id,
                                             Document.application_id.is_(None))
                      .values(application_id=app.id, draft_id=None))
        created["id"] = app.id
        if on_created is not None:
            on_created(s, app)

    with db.transaction() as s:
        if is_organization(data):
            data = with_representative_name(data, account_full_name(s, owner_id))
        problems = representative_problems(s, owner_id, data, document_ids)
        if problems:
            raise DataValidationError("application data is invalid", problems)
        number = next_case_number(s, now.year)
        case = {"number": number, "attempt": 1, "applicant_name": applicant_name(data), "email": owner_email}
        info = runtime.start(service.process, {"application": data, "case": case}, business_key=number,
                             owner=str(owner_id), actor=f"user:{owner_id}", before_commit=attach)
    return Submitted(created["id"], number, now, info.status or "submitted")


def find_application(session: Session, number: str) -> Application | None:
    """The case by its number as typed: an appeal's number (Latin or Cyrillic «А») finds its case."""
    return session.scalar(select(Application).where(Application.number == case_number_of(number)))


@dataclass(frozen=True)
class FoundCase:
    """A case as its reads need it: the application, its process instance's status (`case_status`), the
    messages the instance waits for (its message subscriptions) and its latest certificate."""

    application: Application
    status: str
    waiting: frozenset[str]
    certificate: Certificate | None


_NAMES_SEPARATOR = "\n"  # BPMN message names are single words
# Built once: every read of a case (its view, its certificate) runs it.
_CASE = (select(Application, ProcessInstance.status,
                select(func.aggregate_strings(MessageSubscription.message_name, _NAMES_SEPARATOR))
                .where(MessageSubscription.instance_id == Application.instance_id)
                .correlate(Application).scalar_subquery(),
                Certificate)
         .outerjoin(ProcessInstance, ProcessInstance.id == Application.instance_id)
         .outerjoin(Certificate, Certificate.id == select(func.max(Certificate.id))
                    .where(Certificate.application_id == Application.id).correlate(Application).scalar_subquery())
         .where(Application.number == bindparam("number")))


def find_case(session: Session, number: str) -> FoundCase | None:
    """`find_application` with its status, the messages it waits for and its latest certificate, in one
    statement: a case's view and its downloads need them, and a portal client reads its case again and again."""
    row = session.execute(_CASE, {"number": case_number_of(number)}).first()
    if row is None:
        return None
    app, status, waiting, certificate = row
    return FoundCase(app, status or "submitted", frozenset(waiting.split(_NAMES_SEPARATOR) if waiting else ()),
                     certificate)


# Built once: every notice of a case runs it.
_APPLICATION_AND_OWNER = (select(Application, User).join(User, User.id == Application.owner_id)
                          .where(Application.number == bindparam("number")))


def find_application_and_owner(session: Session, number: str) -> tuple[Application, User] | None:
    """`find_application` with the account that owns the case, in one statement (a notice needs both)."""
    row = session.execute(_APPLICATION_AND_OWNER, {"number": case_number_of(number)}).first()
    return (row[0], row[1]) if row is not None else None
