"""Human-task queues for staff: mine (claimed by me), group (my role's open tasks), all (supervisors)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.models import HumanTask, ProcessInstance

QUEUES = ("mine", "group", "all")
SEE_ALL = ("supervisor", "admin")


def actor_id(user_id: int) -> str:
    """How staff are named in task assignments and the journal."""
    return f"user:{user_id}"


def task_query(queue: str, role: str, actor: str, filter_role: str | None = None) -> Select:
    query = (select(HumanTask, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
             .where(HumanTask.status == "open"))
    if queue == "mine":
        query = query.where(HumanTask.assignee == actor)
    elif queue == "group" or role not in SEE_ALL:
        query = query.where(HumanTask.role == role)
    if filter_role:
        query = query.where(HumanTask.role == filter_role)
    return query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)


def task_view(task: HumanTask, case_number: str | None) -> dict[str, Any]:
    return {"id": task.id, "case_number": case_number, "title": task.title, "task": task.spec_name,
            "lane": task.lane, "role": task.role, "instructions": task.instructions,
            "form": task.form_schema, "created_at": aware(task.created_at).isoformat(),
            "due_at": aware(task.due_at).isoformat() if task.due_at else None,
            "assignee": task.assignee, "status": task.status}


def may_work_on(task: HumanTask, role: str) -> bool:
    return task.role == role or role in SEE_ALL


def list_tasks(session: Session, queue: str, role: str, actor: str, filter_role: str | None = None,
               limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    rows = session.execute(task_query(queue, role, actor, filter_role).limit(limit).offset(offset))
    return [task_view(task, number) for task, number in rows]
