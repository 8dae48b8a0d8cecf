"""Who accepted which version of the legal documents, and what a person still has to accept.

Flask-free: the registration, the acceptance page, the API and the login gate all call these with a
database session and the catalogue, so «accepted» means the same everywhere. Accepting states the
versions the person was shown (`terms_version`, `consent_version`): a version that is not the current
one is refused, so nobody is recorded as accepting a text they did not see. The one exception is the
API registration, whose body has no version fields: the client application presents the documents in
force and registering accepts them (tasks.accounts.service.validate_registration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.errors import DataValidationError, FieldError
from forms.dates import format_ru_date
from tasks.accounts.models import LegalAcceptance

from .catalogue import Catalogue, LegalDocument


def edition(document: LegalDocument) -> str:
    """«редакция 2 от 01.03.2026»: how pages and messages name a version."""
    return f"редакция {document.version} от {format_ru_date(document.effective)}"


def version_problems(documents: Iterable[LegalDocument], data: Mapping[str, Any]) -> list[FieldError]:
    """Each of `documents` (current versions) must be named in `data` under its field with that version."""
    problems = []
    for document in documents:
        given = data.get(document.field)
        if given in (None, ""):
            problems.append(FieldError(document.field, "required", f"Подтвердите, что принимаете документ "
                                                                   f"«{document.title}» ({edition(document)})"))
        elif given != document.version:
            problems.append(FieldError(document.field, "outdated_version",
                                       f"Документ «{document.title}» обновлён: действует {edition(document)}. "
                                       "Прочитайте её и подтвердите согласие ещё раз"))
    return problems


def record(session: Session, user_id: int, documents: Iterable[LegalDocument], *, channel: str,
           now: datetime | None = None) -> None:
    """Store the acceptance of `documents` with the time and the text's hash, and journal it (no commit)."""
    at = now or utcnow()
    accepted = {}
    for document in documents:
        session.add(LegalAcceptance(user_id=user_id, document=document.id, version=document.version,
                                    sha256=document.sha256, accepted_at=at, channel=channel))
        accepted[document.id] = document.version
    if accepted:
        journal.record(session, None, "legal_accepted", actor=f"user:{user_id}",
                       details={"user_id": user_id, "documents": accepted, "channel": channel})


def pending(session: Session, user_id: int, catalogue: Catalogue) -> list[LegalDocument]:
    """The current versions the user has not accepted yet (one indexed query)."""
    current = catalogue.all_current()
    done = set(session.execute(select(LegalAcceptance.document, LegalAcceptance.version)
                               .where(LegalAcceptance.user_id == user_id,
                                      LegalAcceptance.document.in_([d.id for d in current]))).all())
    return [d for d in current if (d.id, d.version) not in done]


def accept(session: Session, user_id: int, catalogue: Catalogue, data: Mapping[str, Any], *,
           channel: str) -> list[LegalDocument]:
    """Accept what the user still has to, as named in `data`; returns what was recorded (committed).

    Raises DataValidationError (nothing stored) when a pending document is missing or named in an old version.
    """
    missing = pending(session, user_id, catalogue)
    problems = version_problems(missing, data)
    if problems:
        raise DataValidationError("legal documents are not accepted", problems)
    record(session, user_id, missing, channel=channel)
    session.commit()
    return missing


def history(session: Session, user_id: int) -> list[LegalAcceptance]:
    """Every acceptance of the user, newest first (the profile lists them)."""
    return list(session.scalars(select(LegalAcceptance).where(LegalAcceptance.user_id == user_id)
                                .order_by(LegalAcceptance.accepted_at.desc(), LegalAcceptance.id.desc())))


def record_vouched(session: Session, user_id: int, catalogue: Catalogue) -> None:
    """A citizen account an administrator creates (`backoffice users add`, the demo seed): the person signed
    the documents in force with the administrator, so their acceptance is stored with channel "admin" and the
    login gate asks again only when a newer version takes effect (commits)."""
    record(session, user_id, catalogue.all_current(), channel="admin")
    session.commit()
