"""«Кто обращался к моим данным»: the reads of a citizen's personal data by others, from the audit journal.

Every read of a case's personal data is journaled (web.cases.access.record_view and the staff audit);
here those rows of the citizen's own cases are shown to the citizen: when, which role and department,
which case, what was read. Staff names appear only where the operator of the service allows it
(`TRACKER_STAFF_NAMES`); the citizen's own reads are left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.models import JournalEntry
from tasks.accounts.models import User
from tasks.accounts.roles import ROLE_LABELS
from tasks.cases.audit import ACCESS_EVENTS
from tasks.cases.journal_words import event_label
from tasks.cases.models.cases import Application

# Who works in which part of the service, by role: staff accounts carry no department of their own.
DEPARTMENTS: dict[str, str] = {
    "operator": "Отдел приёма и проверки заявлений",
    "appeals": "Отдел рассмотрения жалоб",
    "supervisor": "Руководство отдела",
    "admin": "Администрирование информационной системы",
    "analyst": "Отдел развития процессов",
    "citizen": "Представитель организации (доступ открыт заявителем)",
}


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    case_number: str
    event: str
    event_label: str
    role: str | None
    role_label: str
    department: str
    staff_name: str | None  # only where the policy allows names

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def _user_id(actor: str | None) -> int | None:
    return int(actor[5:]) if actor and actor.startswith("user:") and actor[5:].isdigit() else None


def _department(role: str | None) -> str:
    """The reader's department; a role without one of its own (added later) is named by its role."""
    if role is None:
        return "Информационная система"
    return DEPARTMENTS.get(role) or ROLE_LABELS.get(role, role)


def access_rows(session: Session, user_id: int, *, with_names: bool) -> list[AccessRow]:
    """Reads of the personal data in `user_id`'s cases by anyone else, newest first."""
    cases = dict(session.execute(select(Application.instance_id, Application.number)
                                 .where(Application.owner_id == user_id, Application.instance_id.is_not(None))).all())
    if not cases:
        return []
    entries = session.scalars(select(JournalEntry).where(JournalEntry.instance_id.in_(list(cases)),
                                                         JournalEntry.event.in_(sorted(ACCESS_EVENTS)))
                              .order_by(JournalEntry.at.desc(), JournalEntry.id.desc())).all()
    readers = {uid for e in entries if (uid := _user_id(e.actor)) is not None and uid != user_id}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(readers)))} if readers else {}
    rows = []
    for entry in entries:
        uid = _user_id(entry.actor)
        if uid == user_id:
            continue
        reader = people.get(uid) if uid is not None else None
        role = (entry.details or {}).get("role") or (reader.role if reader else None)
        rows.append(AccessRow(aware(entry.at), cases[entry.instance_id], entry.event, event_label(entry.event), role,
                              ROLE_LABELS.get(role or "", "Система"),
                              _department(role),
                              reader.full_name if with_names and reader is not None else None))
    return rows
