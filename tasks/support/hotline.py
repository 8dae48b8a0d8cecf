"""An application filed by a support specialist on the citizen's call («горячая линия»).

The specialist may file only for a citizen whose identity matched: the account (found by its e-mail)
must carry the same ФИО and birth date as the application, and the registry must confirm that the
ЕНП (ЕРЗЛ) — or, without one, the СНИЛС (СФР) — belongs to that person. The application goes through
the same schema and the same submission as the citizen's own, is the citizen's case (they see and
continue it in their cabinet and get its e-mails), and the case and its journal record the channel and
the specialist who filed it. A mismatch files nothing and is journaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.db import Database
from engine.runtime import Runtime
from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tasks.cases.submission import Submitted, submit_application, validate_application
from tasks.registries.checks import check_snils, find_policy
from tasks.registries.client import RegistryClient
from tasks.registries.matching import compare_holder

from .models import AssistedFiling

CHANNEL = "hotline"
CHANNEL_LABEL = "горячая линия"
MATCHING = ("exact", "fuzzy")  # the registries' own spelling (ё/е, case, hyphens) still identifies a person


class IdentityMismatch(Exception):
    """The person on the call is not who the application names; `message` says what did not match."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Identified:
    user_id: int
    email: str
    by: str  # enp | snils: the identifier the registry confirmed


def account_of(session: Session, email: str, person: dict[str, Any]) -> User:
    """The active citizen account of `email` whose ФИО and birth date are the application's; else IdentityMismatch."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower(), User.role == "citizen",
                                             User.is_active.is_(True)))
    if user is None:
        raise IdentityMismatch("account_not_found", "Учётная запись гражданина с такой электронной почтой не найдена.")
    account = {"last_name": user.last_name, "first_name": user.first_name, "middle_name": user.middle_name,
               "birth_date": user.birth_date.isoformat() if user.birth_date else None}
    if compare_holder(person, account).level not in MATCHING:
        raise IdentityMismatch("account_mismatch", "ФИО или дата рождения не совпадают с учётной записью гражданина.")
    return user


def confirmed_identifier(client: RegistryClient, application: dict[str, Any]) -> str:
    """«enp» or «snils»: which identifier the registry confirmed as this person's; else IdentityMismatch."""
    person = application["person"]
    if application.get("policy_number"):
        policy = find_policy(client, person, application["policy_number"], None)
        if not policy.found or policy.holder_match not in MATCHING:
            raise IdentityMismatch("enp_mismatch", "По данным ЕРЗЛ полис с этим ЕНП принадлежит другому человеку "
                                                   "или не найден.")
        return "enp"
    snils = check_snils(client, person)
    if not snils.found or snils.holder_match not in MATCHING:
        raise IdentityMismatch("snils_mismatch", "По данным СФР этот СНИЛС принадлежит другому человеку или не найден.")
    return "snils"


def identify(db: Database, client: RegistryClient, email: str, application: dict[str, Any],
             staff_id: int) -> Identified:
    """Account, then registry (no transaction held over the HTTP call); a mismatch is journaled and raised."""
    try:
        with db.session() as s:
            user = account_of(s, email, application["person"])
            user_id, user_email = user.id, user.email
        return Identified(user_id, user_email, confirmed_identifier(client, application))
    except IdentityMismatch as exc:
        with db.session() as s:
            journal.record(s, None, "hotline_identity_mismatch", actor=f"user:{staff_id}",
                           details={"reason": exc.code, "channel": CHANNEL})
        raise


def file_for_citizen(db: Database, runtime: Runtime, client: RegistryClient, *, staff_id: int, staff_name: str,
                     email: str, data: Any, surface: str = "api") -> Submitted:
    """Validate (DataValidationError), identify (IdentityMismatch, journaled), then file as the citizen."""
    application = validate_application(data, surface)
    if application.get("applicant", "individual") != "individual":
        raise IdentityMismatch("not_individual", "По звонку можно подать только заявление гражданина.")
    who = identify(db, client, email, application, staff_id)

    def record(s: Session, app: Application) -> None:
        s.add(AssistedFiling(application_id=app.id, staff_id=staff_id, channel=CHANNEL, identified_by=who.by,
                             created_at=utcnow()))
        journal.record(s, app.instance_id, "hotline_filed", actor=f"user:{staff_id}",
                       message=f"Заявление подано через горячую линию, специалист {staff_name}",
                       details={"channel": CHANNEL, "identified_by": who.by})

    return submit_application(db, runtime, who.user_id, who.email, application, on_created=record)


def filed_by(session: Session, application_id: int) -> dict[str, Any] | None:
    """The channel and the specialist of a case filed on a call, or None for the citizen's own."""
    row = session.execute(select(AssistedFiling, User).join(User, User.id == AssistedFiling.staff_id)
                          .where(AssistedFiling.application_id == application_id)).first()
    if row is None:
        return None
    filing, staff = row
    return {"channel": filing.channel, "channel_label": CHANNEL_LABEL, "staff": staff.short_name,
            "identified_by": filing.identified_by, "filed_at": filing.created_at}
