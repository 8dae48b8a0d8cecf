"""The audit journal: append rows, read them per instance.

Rows are collected on the session and written with one plain INSERT just before it commits (a
read in the same transaction sees them too). Nothing needs their ids back, so they skip
the ORM's unit of work and its RETURNING: one statement for all of a transaction's rows, which on
the hot path (one row per service result) is a measurable share of a worker's time.

A row collected inside a savepoint (`Session.begin_nested`) belongs to it: rolling the savepoint
back forgets that savepoint's rows and keeps the rest of the transaction's; a released savepoint's
rows commit with the transaction - as if each row had been inserted at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

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
    current = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's db.session
    session.info.setdefault(_PENDING, []).append((current.get_nested_transaction(), {
        "instance_id": instance_id, "at": utcnow(), "actor": actor, "event": event,
        "task_spec": task_spec, "message": message, "details": details,
    }))


# (savepoint the row was recorded in, or None for the outermost transaction; the row's values)
_PENDING = "backoffice_journal_rows"


def write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.execute(insert(JournalEntry.__table__), [values for _, values in rows])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a savepoint is released: rows written then would go with the savepoint if its
    # release failed. They wait for the outermost commit instead; their tags keep them apart till then.
    if not session.in_nested_transaction():
        write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint's rollback forgets the rows recorded in it and in savepoints within it (released
    or not); a rollback of the whole transaction forgets all of them."""
    rows = session.info.get(_PENDING)
    if not rows:
        return
    # A failed flush rolls back its own internal subtransaction first: what is lost is the savepoint
    # (or the whole transaction) around it.
    while not previous.nested and previous.parent is not None:
        previous = previous.parent
    if previous.nested:
        session.info[_PENDING] = [(owner, values) for owner, values in rows if not _within(owner, previous)]
    else:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Rows still pending when the whole transaction ends (a session closed without commit) are gone."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(owner: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while owner is not None:
        if owner is savepoint:
            return True
        owner = owner.parent
    return False


def read(session: Session, instance_id: int) -> list[JournalRecord]:
    """The instance's rows in order: those stored, then those this transaction has yet to write."""
    rows = session.scalars(
        select(JournalEntry).where(JournalEntry.instance_id == instance_id).order_by(JournalEntry.id)
    )
    stored = [JournalRecord(aware(r.at), r.actor, r.event, r.task_spec, r.message, r.details) for r in rows]
    pending = [JournalRecord(aware(v["at"]), v["actor"], v["event"], v["task_spec"], v["message"], v["details"])
               for _, v in session.info.get(_PENDING, ()) if v["instance_id"] == instance_id]
    return stored + pending
