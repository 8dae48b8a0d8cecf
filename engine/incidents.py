"""Incidents: service calls that used up their retries and wait for a person; reading and retrying them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from .clock import aware
from .db import Database
from .models import ProcessInstance, ServiceCall
from .runtime import Runtime

# What a retry did to each call asked for.
REQUEUED, NOT_FOUND, ALREADY_RESOLVED = "requeued", "not_found", "already_resolved"


@dataclass(frozen=True)
class IncidentFilter:
    operator: str | None = None
    process_id: str | None = None
    older_than: datetime | None = None  # called before this moment (the age filter)


def list_incidents(database: Database, limit: int = 500, offset: int = 0,
                   where: IncidentFilter | None = None) -> list[dict]:
    """Open incidents, oldest first, each with its instance's business key and process."""
    with database.session() as s:
        query = _filtered(select(ServiceCall, ProcessInstance.business_key, ProcessInstance.process_id)
                          .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id), where)
        rows = s.execute(query.order_by(ServiceCall.id).limit(limit).offset(offset)).all()
        return [{"id": c.id, "instance_id": c.instance_id, "business_key": key, "process_id": pid,
                 "task": c.task_spec, "operator": c.operator, "attempts": c.attempts, "error": c.last_error,
                 "since": aware(c.created_at)}
                for c, key, pid in rows]


def count_incidents(database: Database, where: IncidentFilter | None = None) -> int:
    with database.session() as s:
        query = _filtered(select(func.count()).select_from(ServiceCall)
                          .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id), where)
        return s.scalar(query) or 0


def incident_ids(database: Database, where: IncidentFilter | None = None) -> list[int]:
    """The ids of every open incident matching `where`, oldest first (what a retry of all of them takes)."""
    with database.session() as s:
        query = _filtered(select(ServiceCall.id)
                          .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id), where)
        return list(s.scalars(query.order_by(ServiceCall.id)))


def incident_choices(database: Database) -> tuple[list[str], list[str]]:
    """The operators and processes that have open incidents (what the filter can offer)."""
    with database.session() as s:
        rows = s.execute(select(ServiceCall.operator, ProcessInstance.process_id).distinct()
                         .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
                         .where(ServiceCall.status == "incident")).all()
    return sorted({r[0] for r in rows}), sorted({r[1] for r in rows})


def _filtered(query, where: IncidentFilter | None):
    query = query.where(ServiceCall.status == "incident")
    if where is None:
        return query
    if where.operator:
        query = query.where(ServiceCall.operator == where.operator)
    if where.process_id:
        query = query.where(ProcessInstance.process_id == where.process_id)
    if where.older_than is not None:
        query = query.where(ServiceCall.created_at <= where.older_than)
    return query


def retry_incidents(runtime: Runtime, call_ids: list[int], actor: str, reason: str | None = None) -> dict[int, str]:
    """Give each incident a fresh round of attempts; the outcome per id (requeued, not found, or
    already resolved when it is no longer an incident). A call that fails again becomes an incident
    again once its attempts are used up. One transaction per call, so one busy row delays no other."""
    outcomes: dict[int, str] = {}
    for call_id in dict.fromkeys(call_ids):
        if runtime.requeue_calls([call_id], statuses=("incident",), reset_attempts=True, actor=actor,
                                 reason=reason):
            outcomes[call_id] = REQUEUED
            continue
        with runtime.db.session() as s:
            exists = s.scalar(select(ServiceCall.id).where(ServiceCall.id == call_id)) is not None
        outcomes[call_id] = ALREADY_RESOLVED if exists else NOT_FOUND
    return outcomes
