"""Colleague access to an organisation's cases: granted by the applicant, read-only, revocable.

A case of an organisation is its applicant's (the owner's). A colleague - another citizen account -
sees it only while the owner's grant stands: to this one case, or to every case of the organisation
the owner applied for (including later ones). Everyone else still gets 404. A grant gives reading
only: resubmission, appeal and uploads stay the owner's (web.cases.access). Granting and revoking are
journaled on the case, like every other access to its personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from forms.formats import check_email
from tasks.cases.models import Application
from tasks.cases.organizations import CaseAccessGrant, OrganizationRepresentative
from web.accounts.models import User
from web.accounts.roles import CITIZEN

Scope = Literal["case", "organization"]
SCOPES: dict[str, str] = {"case": "Только это заявление", "organization": "Все заявления организации"}


class GrantRefused(Exception):
    """A grant that cannot be given: `field` and a Russian message for the form or the API."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class GrantView:
    id: int
    email: str
    full_name: str
    scope: Scope
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "full_name": self.full_name, "scope": self.scope,
                "scope_label": SCOPES[self.scope], "created_at": aware(self.created_at).isoformat()}


def _representative(session: Session, application_id: int) -> OrganizationRepresentative | None:
    return session.scalar(select(OrganizationRepresentative)
                          .where(OrganizationRepresentative.application_id == application_id))


def _applies(app: Application, organization_id: int) -> Any:
    """SQL: an active grant that covers `app` (to the case itself, or to its organisation by its owner)."""
    return and_(CaseAccessGrant.revoked_at.is_(None), or_(
        CaseAccessGrant.application_id == app.id,
        and_(CaseAccessGrant.application_id.is_(None), CaseAccessGrant.organization_id == organization_id,
             CaseAccessGrant.grantor_id == app.owner_id)))


def can_read(session: Session, app: Application, user_id: int) -> bool:
    """Whether `user_id` holds a standing grant covering this organisation's case."""
    rep = _representative(session, app.id)
    if rep is None:
        return False
    found = session.scalar(select(func.count()).select_from(CaseAccessGrant)
                           .where(CaseAccessGrant.grantee_id == user_id, _applies(app, rep.organization_id)))
    return bool(found)


def grants_of(session: Session, app: Application) -> list[GrantView]:
    """The standing grants covering the case, oldest first."""
    rep = _representative(session, app.id)
    if rep is None:
        return []
    rows = session.execute(select(CaseAccessGrant, User).join(User, User.id == CaseAccessGrant.grantee_id)
                           .where(_applies(app, rep.organization_id)).order_by(CaseAccessGrant.id))
    return [_view(grant, user) for grant, user in rows]


def _view(grant: CaseAccessGrant, user: User) -> GrantView:
    scope: Scope = "case" if grant.application_id is not None else "organization"
    return GrantView(grant.id, user.email, user.full_name, scope, grant.created_at)


def _grantee(session: Session, email: str, owner_id: int) -> User:
    address = (email or "").strip().lower()
    problem = check_email(address) if address else None
    if not address or problem is not None:
        raise GrantRefused(422, "required" if not address else "format",
                           "Укажите адрес электронной почты коллеги" if not address else problem.message, "email")
    user = session.scalar(select(User).where(User.email == address))
    if user is None or not user.is_active or user.role != CITIZEN:
        raise GrantRefused(422, "unknown_account", "Пользователь с таким адресом не зарегистрирован на портале: "
                                                   "попросите коллегу сначала зарегистрироваться", "email")
    if user.id == owner_id:
        raise GrantRefused(422, "self", "Это ваш адрес: у вас уже есть доступ к заявлению", "email")
    return user


def grant(session: Session, app: Application, email: str, scope: str = "case") -> GrantView:
    """Give the account with `email` read access; the caller commits. Refused: GrantRefused."""
    rep = _representative(session, app.id)
    if rep is None:
        raise GrantRefused(409, "not_organization", "Открыть доступ коллегам можно только к заявлениям организаций")
    if scope not in SCOPES:
        raise GrantRefused(422, "enum", "Выберите: только это заявление или все заявления организации", "scope")
    user = _grantee(session, email, app.owner_id)
    if any(g.email == user.email and (g.scope == scope or g.scope == "organization")
           for g in grants_of(session, app)):
        raise GrantRefused(409, "already_granted", f"У {user.email} уже есть доступ к этому заявлению", "email")
    row = CaseAccessGrant(organization_id=rep.organization_id, application_id=app.id if scope == "case" else None,
                          grantor_id=app.owner_id, grantee_id=user.id, created_at=utcnow())
    session.add(row)
    session.flush()
    journal.record(session, app.instance_id, "access_granted", actor=f"user:{app.owner_id}",
                   message=f"Открыт доступ на чтение: {user.email} ({SCOPES[scope].lower()})",
                   details={"grant": row.id, "grantee": user.id, "scope": scope})
    return _view(row, user)


def revoke(session: Session, app: Application, grant_id: int) -> GrantView | None:
    """Withdraw a standing grant covering the case (None when there is no such grant); the caller commits."""
    found = next((g for g in grants_of(session, app) if g.id == grant_id), None)
    if found is None:
        return None
    session.get(CaseAccessGrant, grant_id).revoked_at = utcnow()
    journal.record(session, app.instance_id, "access_revoked", actor=f"user:{app.owner_id}",
                   message=f"Закрыт доступ на чтение: {found.email}", details={"grant": grant_id})
    return found


def shared_with(session: Session, user_id: int) -> list[Application]:
    """The organisations' cases other accounts granted `user_id` read access to, newest first."""
    active = and_(CaseAccessGrant.grantee_id == user_id, CaseAccessGrant.revoked_at.is_(None))
    covered = (select(Application.id)
               .join(OrganizationRepresentative, OrganizationRepresentative.application_id == Application.id)
               .join(CaseAccessGrant, or_(
                   CaseAccessGrant.application_id == Application.id,
                   and_(CaseAccessGrant.application_id.is_(None),
                        CaseAccessGrant.organization_id == OrganizationRepresentative.organization_id,
                        CaseAccessGrant.grantor_id == Application.owner_id)))
               .where(active))
    rows = session.scalars(select(Application).where(Application.id.in_(covered))
                           .order_by(Application.submitted_at.desc(), Application.id.desc()).limit(200))
    return list(rows)
