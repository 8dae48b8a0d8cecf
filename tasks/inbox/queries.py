"""Human-task queues for staff: «Мои задачи» (mine), «Задачи группы» (the role's tasks), «Все» (supervisors).

Plain SQLAlchemy on a Session (no Flask), so benchmarks and scripts call the same functions as the
pages and the API. Every list reads one page (50 rows) through an index:

- `ix_human_task_queue_cover (role, status, due_at, ...)` and `ix_human_task_assignee (assignee, status, due_at)`
  (engine) serve the group and «mine» queues sorted by due date; `ix_human_task_role_created`
  (role, status, created_at) sorts a group by the date received; `ix_human_task_status_due` and
  `ix_human_task_status_created` serve «Все» (migration 0005);
- a search goes the other way round: `application.number` (unique), `application.snils` or the
  `search_name` prefix (a `varchar_pattern_ops` index on PostgreSQL, so `LIKE 'иванов%'` is an index
  range under any collation) -> `process_instance.business_key` -> `human_task.instance_id`.

Applicants are masked here («Иванов С. П.»): a list shows no more personal data than the choice of
a task needs; the whole case is on the task page, whose opening is journaled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.clock import aware, utcnow
from engine.models import HumanTask, ProcessInstance
from engine.sla_state import SLA_LABELS, sla_condition, sla_state
from tasks.cases.certificates import mask_name
from tasks.cases.models.cases import Application
from tasks.inbox.filters import QUEUES, SEE_ALL, TaskFilter
from tasks.inbox.staff import may_take, staff_names

__all__ = ["QUEUES", "SEE_ALL", "TaskPage", "actor_id", "count_since", "list_tasks", "masked_applicant",
           "may_take", "may_work_on", "task_query", "task_view"]


def actor_id(user_id: int) -> str:
    """How staff are named in task assignments and the journal."""
    return f"user:{user_id}"


def may_work_on(task: HumanTask, role: str) -> bool:
    """Whether someone of `role` may act on `task` (see `may_take`)."""
    return may_take(role, task.role)


def masked_applicant(data: dict[str, Any] | None) -> str | None:
    """«Иванов С. П.» for a person, the name of an organisation as it is (not personal data)."""
    if not data:
        return None
    if data.get("applicant") == "organization":
        return (data.get("organization") or {}).get("name")
    person = data.get("person") or {}
    if not person.get("last_name"):
        return None
    return mask_name(person["last_name"], person.get("first_name") or "", person.get("middle_name"),
                     keep_last_name=True)


def _filtered(query: Select, f: TaskFilter, role: str, actor: str, now: datetime) -> Select:
    """The WHERE clauses of a filter; the caller's query already joins process_instance and application."""
    query = query.where(HumanTask.status == f.status)
    if f.queue == "mine":
        query = query.where((HumanTask.assignee if f.status == "open" else HumanTask.completed_by) == actor)
    elif f.queue == "group" or role not in SEE_ALL:
        query = query.where(HumanTask.role == role)
    if f.role:
        query = query.where(HumanTask.role == f.role)
    if f.task:
        query = query.where(HumanTask.spec_name == f.task)
    if f.sla:
        query = query.where(sla_condition(f.sla, now))
    start, end = f.due_bounds()
    if start is not None:
        query = query.where(HumanTask.due_at >= start)
    if end is not None:
        query = query.where(HumanTask.due_at < end)
    search = f.search
    if search is not None:
        if search.kind == "snils":
            query = query.where(Application.snils == search.value)
        elif search.kind == "request":
            query = query.where(ProcessInstance.business_key == search.value)
        elif search.kind == "number":
            exact = len(search.value) == 11  # 2026-000123: the whole number
            query = query.where(ProcessInstance.business_key == search.value if exact
                                else ProcessInstance.business_key.startswith(search.value, autoescape=True))
        else:
            query = query.where(Application.search_name.startswith(search.value, autoescape=True))
    return query


def _joined(*columns: Any) -> Select:
    return (select(*columns).select_from(HumanTask)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .join(Application, Application.number == ProcessInstance.business_key, isouter=True))


def task_query(f: TaskFilter, role: str, actor: str, now: datetime | None = None) -> Select:
    """(HumanTask, case number, application data) rows of one page of the filtered queue, sorted."""
    now = now or utcnow()
    query = _filtered(_joined(HumanTask, ProcessInstance.business_key, Application.data), f, role, actor, now)
    column = HumanTask.created_at if f.sort.endswith("received") else HumanTask.due_at
    # A task without a due date counts as due last: NULLS LAST ascending, NULLS FIRST descending. That
    # is also the order of the (role, status, due_at) index, so a page reads 50 index entries instead
    # of sorting the whole queue (benchmarks/inbox.py: 99 ms -> 2 ms at 80,000 open tasks).
    if f.sort.startswith("-"):
        order, tie = column.desc().nulls_first(), HumanTask.id.desc()
    else:
        order, tie = column.asc().nulls_last(), HumanTask.id.asc()
    return query.order_by(order, tie).limit(f.limit).offset(f.offset)


def task_view(task: HumanTask, case_number: str | None, data: dict[str, Any] | None = None,
              now: datetime | None = None, names: dict[str, str] | None = None) -> dict[str, Any]:
    """One row of a queue, as the API returns it and the page prints it."""
    state = sla_state(task.created_at, task.due_at, now or utcnow()) if task.status == "open" else None
    return {"id": task.id, "case_number": case_number, "applicant": masked_applicant(data), "title": task.title,
            "task": task.spec_name, "lane": task.lane, "role": task.role, "instructions": task.instructions,
            "form": task.form_schema, "created_at": aware(task.created_at).isoformat(),
            "due_at": aware(task.due_at).isoformat() if task.due_at else None,
            "sla": state, "sla_label": SLA_LABELS.get(state or ""),
            "assignee": task.assignee, "assignee_name": (names or {}).get(task.assignee or ""),
            "status": task.status,
            "completed_at": aware(task.completed_at).isoformat() if task.completed_at else None,
            "completed_by": task.completed_by}


# Counting a whole queue of 80,000 open tasks costs tens of milliseconds on every page; people read
# «более 1000» as well as an exact figure, so counting stops there (an index range of 1,001 rows).
TOTAL_CAP = 1000


@dataclass
class TaskPage:
    items: list[dict[str, Any]]
    total: int  # counted up to offset + TOTAL_CAP + 1: more reads as «более <total - 1>»
    limit: int
    offset: int
    max_id: int  # the newest task id of the whole table when the page was read (for «новые задачи»)

    @property
    def total_capped(self) -> bool:
        return self.total > self.offset + TOTAL_CAP

    def as_json(self) -> dict[str, Any]:
        total = self.total - 1 if self.total_capped else self.total
        return {"items": self.items, "total": total, "total_capped": self.total_capped,
                "limit": self.limit, "offset": self.offset, "max_id": self.max_id}


def list_tasks(session: Session, f: TaskFilter, role: str, actor: str, now: datetime | None = None) -> TaskPage:
    """One page of the queue `f` as seen by a user of `role` named `actor` (`user:<id>`), with its total."""
    now = now or utcnow()
    rows = session.execute(task_query(f, role, actor, now)).all()
    total, max_id = queue_stats(session, f, role, actor, now)
    names = staff_names(session, {task.assignee for task, _, _ in rows})
    return TaskPage([task_view(task, number, data, now, names) for task, number, data in rows], total, f.limit,
                    f.offset, max_id)


def queue_stats(session: Session, f: TaskFilter, role: str, actor: str, now: datetime | None = None) -> tuple[int, int]:
    """(number of tasks, counted up to the page's offset + TOTAL_CAP + 1; the highest task id): what the
    page shows and polls to notice new tasks.

    The highest id of the whole table (one step down the primary key) serves as well as the queue's
    own: ids only grow, so the queue's tasks created later are exactly those above it.
    """
    joined = f.search is not None
    ids = _joined(HumanTask.id) if joined else select(HumanTask.id).select_from(HumanTask)
    capped = _filtered(ids, f, role, actor, now or utcnow()).offset(f.offset).limit(TOTAL_CAP + 1).subquery()
    count = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    max_id = session.scalar(select(func.max(HumanTask.id)))
    if count == 0 and f.offset:  # past the end: count from the start so the page can say how many there are
        return queue_stats(session, replace(f, offset=0), role, actor, now)
    return f.offset + count, int(max_id or 0)


def count_since(session: Session, f: TaskFilter, role: str, actor: str, since: int,
                now: datetime | None = None) -> int:
    """Tasks of the filtered queue newer than `since` (a task id the page already showed)."""
    joined = f.search is not None
    base = _joined(func.count(HumanTask.id)) if joined else select(func.count(HumanTask.id)).select_from(HumanTask)
    return int(session.scalar(_filtered(base, f, role, actor, now or utcnow()).where(HumanTask.id > since)) or 0)
