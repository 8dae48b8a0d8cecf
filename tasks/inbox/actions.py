"""Claim, unclaim, reassign (one task or many) with an outcome per task in Russian, for the API and pages.

The engine decides races (`Runtime.claim` is one conditional UPDATE: of two operators claiming the
same task, exactly one wins); this module turns its Conflict into the sentence the loser reads -
who has the task now - and checks what the engine does not know: roles and who may be assigned.
Bulk actions run task by task, so one taken task does not cost the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.models import HumanTask
from engine.runtime import Runtime
from tasks.accounts.models import User
from tasks.accounts.roles import ROLE_LABELS
from tasks.inbox.filters import SEE_ALL
from tasks.inbox.queries import actor_id, may_work_on
from tasks.inbox.staff import may_take, staff_names, staff_user

MAX_BULK = 200
NOT_FOUND = "Задача не найдена или недоступна вашей роли."
DONE = "Задача уже выполнена или снята с процесса."


@dataclass(frozen=True)
class Outcome:
    id: int
    ok: bool
    code: str  # claimed | unclaimed | assigned | not_found | conflict | forbidden | invalid_assignee
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class TaskActions:
    """What one staff member (`user_id`, `role`) does to tasks; `session` is only read."""

    def __init__(self, session: Session, runtime: Runtime, user_id: int, role: str) -> None:
        self.s, self.runtime, self.role = session, runtime, role
        self.actor = actor_id(user_id)

    # ------------------------------------------------------------------ reads
    def task(self, task_id: int) -> HumanTask | None:
        """The task if this user's role may act on it (None otherwise: it looks as if it did not exist)."""
        task = self.s.get(HumanTask, task_id, populate_existing=True)
        return task if task is not None and may_work_on(task, self.role) else None

    def _holder(self, task_id: int) -> str:
        task = self.s.get(HumanTask, task_id, populate_existing=True)
        if task is None or task.status != "open":
            return DONE
        if task.assignee is None:
            return "Задача уже свободна."
        name = staff_names(self.s, {task.assignee}).get(task.assignee, task.assignee)
        return f"Задачу уже взял в работу другой сотрудник: {name}."

    # ------------------------------------------------------------------ actions
    def claim(self, task_id: int) -> Outcome:
        task = self.task(task_id)
        if task is None:
            return Outcome(task_id, False, "not_found", NOT_FOUND)
        try:
            self.runtime.claim(task_id, self.actor)
        except (Conflict, NotFound):
            return Outcome(task_id, False, "conflict", self._holder(task_id))
        return Outcome(task_id, True, "claimed", "Задача взята в работу.")

    def unclaim(self, task_id: int) -> Outcome:
        task = self.task(task_id)
        if task is None:
            return Outcome(task_id, False, "not_found", NOT_FOUND)
        try:
            self.runtime.unclaim(task_id, self.actor, force=self.role in SEE_ALL)
        except (Conflict, NotFound):
            return Outcome(task_id, False, "conflict", self._holder(task_id))
        return Outcome(task_id, True, "unclaimed", "Задача возвращена в очередь.")

    def assign(self, task_id: int, assignee: int | None) -> Outcome:
        """A supervisor hands the task to an active staff user who may take it (None: back to the queue)."""
        if self.role not in SEE_ALL:
            return Outcome(task_id, False, "forbidden", "Назначать задачи могут только руководитель и администратор.")
        task = self.task(task_id)
        if task is None:
            return Outcome(task_id, False, "not_found", NOT_FOUND)
        target: User | None = None
        if assignee is not None:
            target = staff_user(self.s, assignee)
            refusal = _refusal(target, task)
            if refusal is not None:
                return Outcome(task_id, False, "invalid_assignee", refusal)
        # Read before the runtime's transaction (in this request's session) expires the objects read so far.
        name = target.full_name if target is not None else None
        new_assignee = actor_id(target.id) if target is not None else None
        try:
            self.runtime.assign(task_id, new_assignee, self.actor)
        except (Conflict, NotFound):
            return Outcome(task_id, False, "conflict", DONE)
        if name is None:
            return Outcome(task_id, True, "assigned", "Задача возвращена в очередь.")
        return Outcome(task_id, True, "assigned", f"Задача назначена: {name}.")

    def bulk(self, action: str, ids: Iterable[int], assignee: int | None = None) -> list[Outcome]:
        """`claim` or `assign` each task in turn; the list says what happened to each."""
        results = []
        for task_id in dict.fromkeys(ids):  # once each, in the order given
            results.append(self.claim(task_id) if action == "claim" else self.assign(task_id, assignee))
        return results


def _refusal(target: User | None, task: HumanTask) -> str | None:
    """Why `target` may not be given `task` (None: they may), by the same rule as the assignee lists."""
    if target is None:
        return "Такого сотрудника нет или его учётная запись отключена."
    if not may_take(target.role, task.role):
        lane = ROLE_LABELS.get(task.role or "", task.role or "без роли")
        return (f"{target.full_name} не может выполнить эту задачу: она для роли «{lane}», "
                f"а у сотрудника роль «{ROLE_LABELS.get(target.role, target.role)}».")
    return None


def parse_assignee(value: Any) -> int | None:
    """A user id from `17`, `"17"` or `"user:17"`; None for null/empty. ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("assignee must be a user id")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().removeprefix("user:")
        if text.isdigit():
            return int(text)
    raise ValueError("assignee must be a user id")
