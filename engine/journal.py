"""The audit journal: append rows, read them per instance.

Rows are collected on the session and written with the transaction's other pending rows just before
it commits (engine.pending_rows); a read in the same transaction sees them too. Nothing needs their
ids back, so they skip the ORM's unit of work and its RETURNING: on the hot path (one row per service
result) that is a measurable share of a worker's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
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


def read(session: Session, instance_id: int) -> list[JournalRecord]:
    """The instance's rows in order: those stored, then those this transaction has yet to write."""
    rows = session.scalars(
        select(JournalEntry).where(JournalEntry.instance_id == instance_id).order_by(JournalEntry.id)
    )
    stored = [JournalRecord(aware(r.at), r.actor, r.event, r.task_spec, r.message, r.details) for r in rows]
    return stored + pending(session, instance_id)


def pending(session: Session, instance_id: int) -> list[JournalRecord]:
    """The instance's rows this transaction has yet to write (all of them for an instance it created)."""
    return [JournalRecord(aware(v["at"]), v["actor"], v["event"], v["task_spec"], v["message"], v["details"])
            for v in pending_rows.rows_of(session, JournalEntry.__table__) if v["instance_id"] == instance_id]
