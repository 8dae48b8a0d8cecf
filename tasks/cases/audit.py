"""The full audit of a case for staff: every journal row, with people named (the read model of the
staff's journal page and its JSON API).

The applicant sees a filtered history of their case (tasks.cases.queries.journal_view with
CITIZEN_EVENTS: the one place that decides what a citizen sees). Staff who work on cases see
everything here: status changes, tasks, service results and every read of the personal data
(`case_viewed`, `document_viewed`, ...) with who did it. Actors are stored as `user:<id>`; they are
resolved to the person's ФИО and e-mail in one query. The page that shows it journals its own
opening (web/dashboard/audit.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import journal
from engine.context import get_services
from engine.errors import NotFound
from engine.models import ProcessInstance
from tasks.accounts.models import User
from tasks.accounts.roles import ROLE_LABELS
from tasks.cases.journal_words import event_label, staff_facts, staff_message
from tasks.cases.models.cases import Application

# Who the non-human actors are, in the staff's words.
SYSTEM_ACTORS = {
    None: "Система",
    "worker": "Обработчик сервисных задач",
    "scheduler": "Планировщик сроков",
    "engine": "Движок процессов",
}
# Reads of personal data (152-FZ: who, what, when): the page marks them out.
ACCESS_EVENTS = frozenset({"case_viewed", "document_viewed", "certificate_downloaded", "decision_downloaded",
                           "receipt_downloaded", "confirmation_viewed", "access_viewed", "shared_list_viewed"})


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    event: str
    event_label: str
    actor: str | None  # as stored: user:<id>, worker, scheduler...
    actor_name: str
    actor_role: str | None
    task_spec: str | None
    message: str | None  # in people's words (tasks/cases/journal_words.py)
    details: dict[str, Any] | None
    access: bool  # a read of personal data
    step: str | None = None  # the BPMN element's name for task_spec
    facts: tuple[str, ...] = ()  # the details as Russian phrases, for the pages
    stored_message: str | None = None  # as stored (a BPMN message name, a status code...), for the API

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def _user_id(actor: str | None) -> int | None:
    if actor and actor.startswith("user:") and actor[5:].isdigit():
        return int(actor[5:])
    return None


def actor_names(session: Session, actors: set[Any]) -> dict[str, tuple[str, str | None]]:
    """`user:<id>` -> («ФИО (e-mail)», role label), for every user among `actors`, in one query."""
    ids = {uid for a in actors if isinstance(a, str) and (uid := _user_id(a)) is not None}
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids)))
    out = {}
    for user in users:
        name = user.full_name if user.full_name == user.email else f"{user.full_name} ({user.email})"
        out[f"user:{user.id}"] = (name, ROLE_LABELS.get(user.role, user.role))
    return out


def _element_names(session: Session, instance_id: int) -> dict[str, str]:
    """The diagram's names of the case's elements (for service, timer and task rows)."""
    version_id = session.scalar(select(ProcessInstance.version_id).where(ProcessInstance.id == instance_id))
    try:
        return get_services().runtime.specs.element_names(session, version_id) if version_id else {}
    except NotFound:
        return {}


def audit_rows(session: Session, app: Application) -> list[AuditRow]:
    """Every journal row of the case, oldest first, actors (and assignees) resolved, codes in words."""
    records = journal.read(session, app.instance_id) if app.instance_id else []
    names = actor_names(session, {r.actor for r in records} | {(r.details or {}).get("assignee") for r in records})
    people = {actor: name for actor, (name, _) in names.items()}
    elements = _element_names(session, app.instance_id) if records else {}
    rows = []
    for rec in records:
        if rec.actor in names:
            name, role = names[rec.actor]
        elif _user_id(rec.actor) is not None:
            name, role = "Удалённая учётная запись", None
        else:
            name, role = SYSTEM_ACTORS.get(rec.actor, "Система"), None
        rows.append(AuditRow(rec.at, rec.event, event_label(rec.event), rec.actor, name, role, rec.task_spec,
                             staff_message(rec.event, rec.message, rec.details, rec.task_spec, elements),
                             rec.details, rec.event in ACCESS_EVENTS,
                             step=elements.get(rec.task_spec or ""),
                             facts=tuple(staff_facts(rec.event, rec.details, people)), stored_message=rec.message))
    return rows
