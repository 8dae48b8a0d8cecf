"""Read access to incidents: service calls that used up their retries and wait for an admin."""

from __future__ import annotations

from sqlalchemy import select

from .clock import aware
from .db import Database
from .models import ProcessInstance, ServiceCall


def list_incidents(database: Database, limit: int = 500) -> list[dict]:
    with database.session() as s:
        rows = s.execute(select(ServiceCall, ProcessInstance.business_key, ProcessInstance.process_id)
                         .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
                         .where(ServiceCall.status == "incident").order_by(ServiceCall.id).limit(limit)).all()
        return [{"id": c.id, "instance_id": c.instance_id, "business_key": key, "process_id": pid,
                 "task": c.task_spec, "operator": c.operator, "attempts": c.attempts, "error": c.last_error,
                 "since": aware(c.created_at)} for c, key, pid in rows]
