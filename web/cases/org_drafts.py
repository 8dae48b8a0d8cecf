"""The organisation application's server-side draft: what was typed and the files already uploaded.

The organisation's page is one form, so the draft is simpler than the wizard's (web.cases.wizard):
it keeps the last posted data, so that a scan uploaded with a form that had an error need not be
chosen again, and the page comes back filled in after a closed browser. One draft per account
(`application_draft` with applicant "organization"); claiming and documents work as in the wizard.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from forms.flat import initial_data
from forms.validation import load_schema
from tasks.cases.models import Document, Draft

from .wizard import PERIOD_FIELDS

SCHEMA = "organization_application"
APPLICANT = "organization"
STEP = "form"  # the draft's `step`: the page has one


def schema() -> dict[str, Any]:
    return load_schema(SCHEMA)


def new_data(full_name: str) -> dict[str, Any]:
    """A fresh application: the schema's initial values and the representative's ФИО from the account."""
    data = initial_data(schema())
    data.setdefault("representative", {})["full_name"] = full_name
    return data


def tidy(data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the inputs of the chosen options: no power of attorney for the head, no stray period dates."""
    result = copy.deepcopy(dict(data))
    rep = result.get("representative")
    if isinstance(rep, dict) and rep.get("authority") != "power_of_attorney":
        rep.pop("power_of_attorney", None)
    period = result.get("period")
    if isinstance(period, dict) and period.get("kind") in PERIOD_FIELDS:
        result["period"] = {k: v for k, v in period.items() if k in PERIOD_FIELDS[period["kind"]]}
    return result


def find(session: Session, owner_id: int) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.owner_id == owner_id, Draft.applicant == APPLICANT))


def save(session: Session, owner_id: int, data: dict[str, Any]) -> Draft:
    """Create or update the owner's organisation draft and commit."""
    draft = find(session, owner_id)
    if draft is None:
        draft = Draft(owner_id=owner_id, applicant=APPLICANT, data=data, step=STEP, updated_at=utcnow())
        session.add(draft)
        try:
            session.commit()
        except IntegrityError:  # another tab created it a moment earlier
            session.rollback()
            return save(session, owner_id, data)
        return draft
    draft.data, draft.updated_at = data, utcnow()
    session.commit()
    return draft


def restore(session: Session, owner_id: int, data: dict[str, Any], document_ids: Sequence[int]) -> None:
    """Put a claimed draft back when the submission failed: nothing typed or uploaded is lost."""
    draft = Draft(owner_id=owner_id, applicant=APPLICANT, data=data, step=STEP, updated_at=utcnow())
    session.add(draft)
    session.flush()
    if document_ids:
        session.execute(update(Document).where(Document.id.in_(list(document_ids)), Document.owner_id == owner_id,
                                               Document.application_id.is_(None)).values(draft_id=draft.id))
    session.commit()
