"""The representative of an organisation's application: who applied, on what authority, with which scan.

A person applying for an employer must say on what authority they act. The head of the organisation
needs nothing more; a representative by power of attorney must attach its scan (a document of kind
`power_of_attorney`, uploaded and checked by content like every document) - without it the
application is refused with a field error, before anything is stored. The ФИО is never taken from
the form: it is the account's, so the record says who really applied. Details of a power of attorney
sent with the head's authority are dropped before validation: they are neither checked nor stored.

The organisation row (by ИНН) is written once, from the first application that names it, and never
overwritten from a later applicant's unverified input: ЕГРЮЛ, not the form, is the authority.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.errors import FieldError
from forms.dates import add_years
from tasks.accounts.models import User

from .models.cases import Application, Document
from .models.organizations import Organization, OrganizationRepresentative

POA_KIND = "power_of_attorney"
POA_FIELD = "documents.power_of_attorney"
POA_MISSING = "Приложите скан доверенности: без неё заявление от имени организации не принимается"
POA_DEFAULT_YEARS = 1  # ГК РФ ст. 186: a power of attorney without a term is valid a year from its date


def is_organization(data: dict[str, Any]) -> bool:
    return data.get("applicant") == "organization"


def account_full_name(session: Session, user_id: int) -> str:
    """«Фамилия Имя Отчество» of the account (its e-mail when the account has no name)."""
    user = session.get(User, user_id)
    return user.full_name if user is not None else ""


def with_representative_name(data: dict[str, Any], full_name: str) -> dict[str, Any]:
    """The application with the representative's ФИО set from the account, whatever the form said."""
    if not is_organization(data) or not isinstance(data.get("representative"), dict):
        return data
    result = copy.deepcopy(data)
    result["representative"]["full_name"] = full_name
    return result


def without_unused_authority(data: Any) -> Any:
    """The application without power-of-attorney details unless the authority is a power of attorney.

    The head of an organisation needs none: what a client sends anyway is dropped, neither validated
    nor stored (the page hides those inputs; the API must not be stricter or looser than the page).
    """
    if not isinstance(data, dict) or not is_organization(data):
        return data
    rep = data.get("representative")
    if not isinstance(rep, dict) or "power_of_attorney" not in rep or rep.get("authority") == POA_KIND:
        return data
    return {**data, "representative": {k: v for k, v in rep.items() if k != "power_of_attorney"}}


def power_of_attorney_end(issued_on: date | None, valid_to: date | None) -> date | None:
    """The last day a power of attorney is valid: its own term, else a year from its date (ГК РФ ст. 186)."""
    if valid_to is not None:
        return valid_to
    return add_years(issued_on, POA_DEFAULT_YEARS) if issued_on is not None else None


def needs_power_of_attorney(data: dict[str, Any]) -> bool:
    return is_organization(data) and (data.get("representative") or {}).get("authority") == POA_KIND


def power_of_attorney_document(session: Session, owner_id: int, document_ids: Sequence[int]) -> Document | None:
    """The owner's not yet attached scan of a power of attorney among `document_ids`, if any."""
    if not document_ids:
        return None
    return session.scalar(select(Document).where(
        Document.id.in_(list(document_ids)), Document.owner_id == owner_id, Document.kind == POA_KIND,
        Document.application_id.is_(None)).order_by(Document.id).limit(1))


def case_power_of_attorney(session: Session, application_id: int) -> Document | None:
    """A scan of a power of attorney already on the case (a resubmission's files are uploaded to it)."""
    return session.scalar(select(Document).where(Document.application_id == application_id,
                                                 Document.kind == POA_KIND).order_by(Document.id).limit(1))


def resubmitted_representative(session: Session, owner_id: int, application_id: int,
                               data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """A resubmission's application with the ФИО from the account again, and what its authority lacks.

    Without this a resubmission could rewrite the representative's name (and so pass for the head
    ЕГРЮЛ names) or switch to a power of attorney without a scan on the case.
    """
    data = with_representative_name(data, account_full_name(session, owner_id))
    if needs_power_of_attorney(data) and case_power_of_attorney(session, application_id) is None:
        return data, [FieldError(POA_FIELD, "required", POA_MISSING)]
    return data, []


def representative_problems(session: Session, owner_id: int, data: dict[str, Any],
                            document_ids: Sequence[int]) -> list[FieldError]:
    """What is missing for the representative's authority (the scan of the power of attorney)."""
    if needs_power_of_attorney(data) and power_of_attorney_document(session, owner_id, document_ids) is None:
        return [FieldError(POA_FIELD, "required", POA_MISSING)]
    return []


def _organization(session: Session, org: dict[str, Any]) -> Organization:
    """The organisation row by ИНН; created from this application when it is the first to name it.

    An existing row is never changed: a later applicant's requisites are unverified input, and the
    row is what colleague grants hang on.
    """
    row = session.scalar(select(Organization).where(Organization.inn == org["inn"]))
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = Organization(inn=org["inn"], kpp=org["kpp"], ogrn=org["ogrn"], name=org["name"],
                               created_at=utcnow())
            session.add(row)
    except IntegrityError:  # another application named it first, a moment ago
        row = session.scalar(select(Organization).where(Organization.inn == org["inn"]))
    return row


def record_representative(session: Session, app: Application, user_id: int,
                          document_ids: Sequence[int]) -> OrganizationRepresentative | None:
    """Store who applied for the organisation and on what authority (no-op for a person's application)."""
    data = app.data
    if not is_organization(data):
        return None
    rep, poa = data["representative"], data["representative"].get("power_of_attorney") or {}
    authority_by_poa = rep["authority"] == POA_KIND
    scan = power_of_attorney_document(session, user_id, document_ids) if authority_by_poa else None
    row = OrganizationRepresentative(
        application_id=app.id, organization_id=_organization(session, data["organization"]).id, user_id=user_id,
        full_name=rep.get("full_name") or account_full_name(session, user_id), position=rep["position"],
        authority=rep["authority"], poa_number=poa.get("number") if authority_by_poa else None,
        poa_issued_on=_date(poa.get("issued_on")) if authority_by_poa else None,
        poa_valid_to=_date(poa.get("valid_to")) if authority_by_poa else None,
        poa_document_id=scan.id if scan is not None else None, recorded_at=utcnow())
    session.add(row)
    session.flush()
    return row


def representative_of(session: Session, application_id: int) -> OrganizationRepresentative | None:
    return session.scalar(select(OrganizationRepresentative)
                          .where(OrganizationRepresentative.application_id == application_id))


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None
