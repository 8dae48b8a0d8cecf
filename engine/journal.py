"""The audit journal: append rows, read them per instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    session.add(JournalEntry(
        instance_id=instance_id, at=utcnow(), actor=actor, event=event,
        task_spec=task_spec, message=message, details=details,
    ))


def read(session: Session, instance_id: int) -> list[JournalRecord]:
    rows = session.scalars(
        select(JournalEntry).where(JournalEntry.instance_id == instance_id).order_by(JournalEntry.id)
    )
    return [JournalRecord(aware(r.at), r.actor, r.event, r.task_spec, r.message, r.details) for r in rows]
