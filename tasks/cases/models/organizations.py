"""Tables of organisations: who applies for an employer, on what authority, and who else may read its cases.

An organisation is known by its ИНН (`organization`: the requisites of the first application that named
it, never overwritten by later - unverified - input; ЕГРЮЛ is the authority on them). Each
organisation's application records its representative (`organization_representative`): the account
that applied, the ФИО it had then, the position and the authority - the head of the organisation, or
a power of attorney whose scan is a document of the case. Colleagues do not see the organisation's
cases by default: the applicant grants an e-mail address read access (`case_access_grant`) to one case
or to all the organisation's cases they applied for, optionally until a date; the grant applies to the
citizen account signed in with that address. A grant names an address, not an account, so granting
never tells the owner whether (or whose) account the address belongs to. A revoked grant is kept
(revoked_at) as the record of who could read what and when (152-ФЗ).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId
from tasks.accounts import models as _accounts  # noqa: F401  (app_user, referenced by user ids)

from . import cases as _cases  # noqa: F401  (application and document, referenced below)

AUTHORITIES = ("head", "power_of_attorney")


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("inn", name="uq_organization_inn"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inn: Mapped[str] = mapped_column(String(10))
    kpp: Mapped[str] = mapped_column(String(9))
    ogrn: Mapped[str] = mapped_column(String(13))
    name: Mapped[str] = mapped_column(String(500))  # as the first representative typed it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganizationRepresentative(Base):
    """Who applied for the organisation with one application, and on what authority."""

    __tablename__ = "organization_representative"
    __table_args__ = (
        UniqueConstraint("application_id", name="uq_organization_representative_application_id"),
        Index("ix_organization_representative_org_user", "organization_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey(
        "application.id", ondelete="CASCADE", name="fk_organization_representative_application_id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey(
        "organization.id", name="fk_organization_representative_organization_id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_organization_representative_user_id"),
                                         index=True)
    full_name: Mapped[str] = mapped_column(String(200))  # the account's ФИО when they applied
    position: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(20))  # head | power_of_attorney
    poa_number: Mapped[str | None] = mapped_column(String(50))
    poa_issued_on: Mapped[date | None] = mapped_column(Date)
    poa_valid_to: Mapped[date | None] = mapped_column(Date)
    poa_document_id: Mapped[int | None] = mapped_column(ForeignKey(
        "document.id", ondelete="SET NULL", name="fk_organization_representative_poa_document_id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseAccessGrant(Base):
    """Read access for an e-mail address to an organisation's case (application_id set) or to all its cases
    the grantor applied for, through `expires_at` (inclusive; None: until revoked)."""

    __tablename__ = "case_access_grant"
    __table_args__ = (Index("ix_case_access_grant_grantee", "grantee_email", "revoked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey(
        "organization.id", name="fk_case_access_grant_organization_id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey(
        "application.id", ondelete="CASCADE", name="fk_case_access_grant_application_id"), index=True)
    grantor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_case_access_grant_grantor_id"),
                                            index=True)
    grantee_email: Mapped[str] = mapped_column(String(254))  # normalised: stripped, lower case
    expires_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
