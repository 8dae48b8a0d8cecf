"""Colleague access to an organisation's cases: granted by the applicant to an e-mail address, read-only,
revocable, optionally until a date.

A case of an organisation is its applicant's (the owner's). A colleague sees it only while a grant
to the e-mail address of the citizen account they signed in with stands: to this one case, or to
every case of the organisation (by ИНН) the owner applied for, including later ones. Everyone else
still gets 404. A grant gives reading only: resubmission, appeal and uploads stay the owner's
(web.cases.access).

152-ФЗ: the owner must not learn through the grant form whether an address belongs to an account, or
whose: a grant names an address, every well-formed address is accepted the same way, and the answer
shows only that address. Grants never apply to staff accounts (staff read cases by their role, and a
grant must not reveal or widen anything about them). A representative by power of attorney cannot
give access for longer than the power of attorney lasts. Granting, revoking and reading the list of
grants are journaled on the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from forms.dates import format_ru_date, parse_iso_date, parse_ru_date, today_moscow
from forms.formats import check_email
from tasks.accounts.models import User
from tasks.accounts.roles import CITIZEN
from tasks.accounts.service import normalize_email
from tasks.cases.models.cases import Application
from tasks.cases.models.organizations import CaseAccessGrant, Organization, OrganizationRepresentative
from tasks.cases.representatives import POA_KIND, power_of_attorney_end, representative_of

Scope = Literal["case", "organization"]
SCOPES: dict[str, str] = {"case": "Только это заявление", "organization": "Все заявления организации"}


class GrantRefused(Exception):
    """A grant that cannot be given: `field` and a Russian message for the form or the API."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class GrantView:
    """A grant as its owner sees it: the address they typed, never whose account it is."""

    id: int
    email: str
    scope: Scope
    created_at: datetime
    expires_at: date | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "scope": self.scope, "scope_label": SCOPES[self.scope],
                "created_at": aware(self.created_at).isoformat(),
                "expires_at": self.expires_at.isoformat() if self.expires_at else None}


def _standing(today: date) -> Any:
    """SQL: a grant neither revoked nor past its last day."""
    return and_(CaseAccessGrant.revoked_at.is_(None),
                or_(CaseAccessGrant.expires_at.is_(None), CaseAccessGrant.expires_at >= today))


def _covers(app: Application, organization_id: int) -> Any:
    """SQL: a grant to the case itself, or to its organisation by the case's owner."""
    return or_(CaseAccessGrant.application_id == app.id,
               and_(CaseAccessGrant.application_id.is_(None), CaseAccessGrant.organization_id == organization_id,
                    CaseAccessGrant.grantor_id == app.owner_id))


def can_read(session: Session, app: Application, user: User) -> bool:
    """Whether a standing grant to `user`'s e-mail covers this organisation's case (never for staff)."""
    rep = representative_of(session, app.id)
    if rep is None or user.role != CITIZEN or not user.is_active:
        return False
    found = session.scalar(select(func.count()).select_from(CaseAccessGrant).where(
        CaseAccessGrant.grantee_email == normalize_email(user.email), _standing(today_moscow()),
        _covers(app, rep.organization_id)))
    return bool(found)


def grants_of(session: Session, app: Application) -> list[GrantView]:
    """The standing grants covering the case, oldest first."""
    rep = representative_of(session, app.id)
    if rep is None:
        return []
    rows = session.scalars(select(CaseAccessGrant)
                           .where(_standing(today_moscow()), _covers(app, rep.organization_id))
                           .order_by(CaseAccessGrant.id))
    return [_view(row) for row in rows]


def _view(grant: CaseAccessGrant) -> GrantView:
    scope: Scope = "case" if grant.application_id is not None else "organization"
    return GrantView(grant.id, grant.grantee_email, scope, grant.created_at, grant.expires_at)


def _grantee_email(session: Session, app: Application, email: str) -> str:
    """The normalised address; refused only for its shape and for the owner's own address."""
    address = normalize_email(email or "")
    if not address:
        raise GrantRefused(422, "required", "Укажите адрес электронной почты коллеги", "email")
    problem = check_email(address)
    if problem is not None:
        raise GrantRefused(422, problem.code, problem.message, "email")
    owner = session.get(User, app.owner_id)
    if owner is not None and normalize_email(owner.email) == address:
        raise GrantRefused(422, "self", "Это ваш адрес: у вас уже есть доступ к заявлению", "email")
    return address


def _requested_end(value: str | None, today: date) -> date | None:
    """«Доступ до» as typed (ДД.ММ.ГГГГ on the page, YYYY-MM-DD in the API); None when left empty."""
    text = (value or "").strip()
    if not text:
        return None
    end = parse_iso_date(text) or parse_ru_date(text)
    if end is None:
        raise GrantRefused(422, "format", "Введите дату в формате ДД.ММ.ГГГГ, например 31.12.2026", "expires_at")
    if end < today:
        raise GrantRefused(422, "past_date", "Дата окончания доступа не может быть раньше сегодняшнего дня",
                           "expires_at")
    return end


def longest_end(session: Session, app: Application) -> date | None:
    """The last day access to the case can be given until (the power of attorney's end), if limited."""
    rep = representative_of(session, app.id)
    if rep is None or rep.authority != POA_KIND:
        return None
    return power_of_attorney_end(rep.poa_issued_on, rep.poa_valid_to)


def _capped_end(rep: OrganizationRepresentative, end: date | None, today: date) -> date | None:
    """A representative by power of attorney gives access at most until the power of attorney ends."""
    if rep.authority != POA_KIND:
        return end
    limit = power_of_attorney_end(rep.poa_issued_on, rep.poa_valid_to)
    if limit is None:
        return end
    if limit < today:
        raise GrantRefused(409, "power_of_attorney_expired", "Срок доверенности, по которой подано заявление, "
                           f"истёк {format_ru_date(limit)}: открыть доступ по ней нельзя")
    return limit if end is None or end > limit else end


def _scope_text(scope: Scope, inn: str, end: date | None) -> str:
    what = "только это заявление" if scope == "case" else \
        f"все заявления организации с ИНН {inn}, поданные владельцем этого заявления"
    return f"{what}, до {format_ru_date(end)} включительно" if end else what


def grant(session: Session, app: Application, email: str, scope: str = "case",
          expires_at: str | None = None) -> GrantView:
    """Give the address read access (the owner's action); the caller commits. Refused: GrantRefused."""
    rep = representative_of(session, app.id)
    if rep is None:
        raise GrantRefused(409, "not_organization", "Открыть доступ коллегам можно только к заявлениям организаций")
    if scope not in SCOPES:
        raise GrantRefused(422, "enum", "Выберите: только это заявление или все заявления организации", "scope")
    address = _grantee_email(session, app, email)
    today = today_moscow()
    end = _capped_end(rep, _requested_end(expires_at, today), today)
    if any(g.email == address and (g.scope == scope or g.scope == "organization") for g in grants_of(session, app)):
        raise GrantRefused(409, "already_granted", f"У {address} уже есть доступ к этому заявлению", "email")
    row = CaseAccessGrant(organization_id=rep.organization_id, application_id=app.id if scope == "case" else None,
                          grantor_id=app.owner_id, grantee_email=address, expires_at=end, created_at=utcnow())
    session.add(row)
    session.flush()
    inn = session.get(Organization, rep.organization_id).inn
    journal.record(session, app.instance_id, "access_granted", actor=f"user:{app.owner_id}",
                   message=f"Открыт доступ на чтение: {address} ({_scope_text(scope, inn, end)})",
                   details={"grant": row.id, "email": address, "scope": scope, "inn": inn,
                            "expires_at": end.isoformat() if end else None})
    return _view(row)


def revoke(session: Session, app: Application, grant_id: int) -> GrantView | None:
    """Withdraw a standing grant covering the case (None when there is no such grant); the caller commits."""
    found = next((g for g in grants_of(session, app) if g.id == grant_id), None)
    if found is None:
        return None
    row = session.get(CaseAccessGrant, grant_id)
    row.revoked_at = utcnow()
    inn = session.get(Organization, row.organization_id).inn
    journal.record(session, app.instance_id, "access_revoked", actor=f"user:{app.owner_id}",
                   message=f"Закрыт доступ на чтение: {found.email} ({_scope_text(found.scope, inn, None)})",
                   details={"grant": grant_id, "email": found.email, "scope": found.scope, "inn": inn})
    return found


def shared_with(session: Session, user: User) -> list[Application]:
    """The organisations' cases standing grants to `user`'s address cover, newest first (none for staff)."""
    if user.role != CITIZEN:
        return []
    active = and_(CaseAccessGrant.grantee_email == normalize_email(user.email), _standing(today_moscow()))
    covered = (select(Application.id)
               .join(OrganizationRepresentative, OrganizationRepresentative.application_id == Application.id)
               .join(CaseAccessGrant, or_(
                   CaseAccessGrant.application_id == Application.id,
                   and_(CaseAccessGrant.application_id.is_(None),
                        CaseAccessGrant.organization_id == OrganizationRepresentative.organization_id,
                        CaseAccessGrant.grantor_id == Application.owner_id)))
               .where(active))
    rows = session.scalars(select(Application).where(Application.id.in_(covered), Application.owner_id != user.id)
                           .order_by(Application.submitted_at.desc(), Application.id.desc()).limit(200))
    return list(rows)


def record_shared_list_view(session: Session, apps: Sequence[Application], user: User) -> None:
    """Journal, on each case listed, that a colleague saw it in «shared with me» (152-ФЗ); commits."""
    for app in apps:
        journal.record(session, app.instance_id, "shared_list_viewed", actor=f"user:{user.id}",
                       details={"role": user.role})
    session.commit()
