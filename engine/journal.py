"""The audit journal: append rows, read them per instance.

Rows are collected on the session and written with the transaction's other pending rows just before
it commits (engine.pending_rows); a read in the same transaction sees them too. Nothing needs their
ids back, so they skip the ORM's unit of work and its RETURNING: on the hot path (one row per service
result) that is a measurable share of a worker's time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import pending_rows
from .clock import aware, utcnow
from .models import JournalEntry


@dataclass(frozen=True)
class JournalRecord:
    at: datetime
    actor: str | None
    event: str
    task_spec: str | None
    message: str | None
    details: dict[str, Any] | None


def record(
    session: Session,
    instance_id: int | None,
    event: str,
    *,
    actor: str | None = None,
    task_spec: str | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    pending_rows.add(session, JournalEntry.__table__, {
        "instance_id": instance_id, "at": utcnow(), "actor": actor, "event": event,
        "task_spec": task_spec, "message": message, "details": details,
    })


# Built once: every view of a case reads its journal. Plain columns: the rows become records, never objects.
_STORED = (select(JournalEntry.at, JournalEntry.actor, JournalEntry.event, JournalEntry.task_spec,
                  JournalEntry.message, JournalEntry.details)
           .where(JournalEntry.instance_id == bindparam("instance_id")).order_by(JournalEntry.id))
_STORED_OF_EVENTS = _STORED.where(JournalEntry.event.in_(bindparam("events", expanding=True)))


def read(session: Session, instance_id: int, events: Collection[str] | None = None) -> list[JournalRecord]:
    """The instance's rows in order: those stored, then those this transaction has yet to write.

    `events`: only rows of these events. A reader shown a few kinds of event asks for those alone: every read
    of a case adds a row of its own, so a case polled often would otherwise be read back in full each time.
    """
    if events is None:
        rows = session.execute(_STORED, {"instance_id": instance_id})
    else:
        rows = session.execute(_STORED_OF_EVENTS, {"instance_id": instance_id, "events": list(events)})
    stored = [JournalRecord(aware(r.at), r.actor, r.event, r.task_spec, r.message, r.details) for r in rows]
    return stored + [r for r in pending(session, instance_id) if events is None or r.event in events]


def pending(session: Session, instance_id: int) -> list[JournalRecord]:
    """The instance's rows this transaction has yet to write (all of them for an instance it created)."""
    return [JournalRecord(aware(v["at"]), v["actor"], v["event"], v["task_spec"], v["message"], v["details"])
            for v in pending_rows.rows_of(session, JournalEntry.__table__) if v["instance_id"] == instance_id]
