"""The audit journal: append rows, read them per instance.

Rows are collected on the session and written with one plain INSERT just before it commits (or
before a read of the journal in the same transaction). Nothing needs their ids back, so they skip
the ORM's unit of work and its RETURNING: one statement for all of a transaction's rows, which on
the hot path (one row per service result) is a measurable share of a worker's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

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
    session.info.setdefault(_PENDING, []).append({
        "instance_id": instance_id, "at": utcnow(), "actor": actor, "event": event,
        "task_spec": task_spec, "message": message, "details": details,
    })


_PENDING = "backoffice_journal_rows"


def write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.execute(insert(JournalEntry.__table__), rows)


def discard_pending(session: Session) -> None:
    """Forget rows of work that was rolled back to a savepoint (a full rollback forgets them itself)."""
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def read(session: Session, instance_id: int) -> list[JournalRecord]:
    write_pending(session)
    rows = session.scalars(
        select(JournalEntry).where(JournalEntry.instance_id == instance_id).order_by(JournalEntry.id)
    )
    return [JournalRecord(aware(r.at), r.actor, r.event, r.task_spec, r.message, r.details) for r in rows]
