"""Reading the directory: one organisation, the filter choices, and when the copy was last refreshed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from engine.clock import aware

from .models import DirectoryRefresh, MedicalOrganization


def find_by_ogrn(session: Session, ogrn: str) -> MedicalOrganization | None:
    return session.scalar(select(MedicalOrganization).where(MedicalOrganization.ogrn == ogrn))


def last_refreshed(session: Session) -> datetime | None:
    """When the copy was last refreshed successfully (None: never - the directory is empty)."""
    at = session.scalar(select(func.max(DirectoryRefresh.finished_at)).where(DirectoryRefresh.succeeded))
    return aware(at) if at is not None else None  # SQLite gives back naive UTC


@dataclass(frozen=True)
class Choices:
    """What the filters offer: every region, programme and specialty the directory has, sorted."""

    regions: list[str]
    programs: list[str]
    specialties: list[str]


def choices(session: Session) -> Choices:
    regions = session.scalars(select(MedicalOrganization.region).where(MedicalOrganization.region.is_not(None))
                              .distinct())
    return Choices(sorted(regions), _list_values(session, MedicalOrganization.programs),
                   _list_values(session, MedicalOrganization.specialties))


def _list_values(session: Session, column) -> list[str]:
    """The distinct items of a JSON list column, unpacked by the database."""
    if session.get_bind().dialect.name == "postgresql":
        items = select(func.jsonb_array_elements_text(column).label("value")).subquery()
        return sorted(session.scalars(select(items.c.value).distinct()))
    each = func.json_each(column).table_valued("value")
    return sorted(session.scalars(select(each.c.value).select_from(MedicalOrganization).join(each, true())
                                  .distinct()))
