"""Tables of the medical organisations directory.

`medical_organization` is our copy of the register of medical organisations: the public pages search it
and booking refers to it, so neither depends on the registry answering at that moment. Rows are upserted
by ОГРН on each refresh; one the registry no longer lists is removed only by a refresh that succeeded,
so a registry outage leaves the last copy in place. `medical_organization_refresh` records every refresh
attempt: the pages say when the copy was last refreshed, and an operator sees why one failed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId, JsonType


class MedicalOrganization(Base):
    __tablename__ = "medical_organization"
    __table_args__ = (UniqueConstraint("ogrn", name="uq_medical_organization_ogrn"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ogrn: Mapped[str] = mapped_column(String(13))
    inn: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(1000))
    short_name: Mapped[str] = mapped_column(String(500))
    address: Mapped[str] = mapped_column(String(1000))  # where patients go (the actual address)
    legal_address: Mapped[str | None] = mapped_column(String(1000))
    phone: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    region: Mapped[str | None] = mapped_column(String(200), index=True)
    programs: Mapped[list[str]] = mapped_column(JsonType)  # insurance programmes served
    specialties: Mapped[list[str]] = mapped_column(JsonType)
    license_valid_to: Mapped[date | None] = mapped_column(Date)  # None: the licence has no end date
    accredited: Mapped[bool] = mapped_column(Boolean)
    # The registry's record as given, extra fields included: what the directory shows is never less
    # than what the registry said.
    record: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # Full and short name normalised for search (case, ё as е, quotes and dashes as spaces); PostgreSQL
    # has a trigram index on it (migration 0024).
    search_text: Mapped[str] = mapped_column(Text)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def license_expired(self, today: date) -> bool:
        """True once the licence's last day has passed (a licence without an end date never expires)."""
        return self.license_valid_to is not None and self.license_valid_to < today


class DirectoryRefresh(Base):
    """One attempt to refresh the directory from the registry."""

    __tablename__ = "medical_organization_refresh"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    organizations: Mapped[int] = mapped_column(Integer, default=0)  # rows in the directory afterwards
    error: Mapped[str | None] = mapped_column(Text)
