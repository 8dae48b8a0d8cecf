"""Staff as the inbox names them: assignees by ФИО, and who may take a task (the one rule, `may_take`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.accounts.models import User
from tasks.accounts.roles import CASE_WORKERS
from tasks.cases.audit import actor_names
from tasks.inbox.filters import SEE_ALL


def may_take(role: str, task_role: str | None) -> bool:
    """Who works on a task: its lane's role; supervisors and administrators may act on any.

    The one rule: it decides what a person may open and claim, who a task may be assigned to and whom
    the assignee lists offer, so a list never offers someone the assignment would then refuse.
    """
    return task_role == role or role in SEE_ALL


def staff_names(session: Session, actors: set[str | None]) -> dict[str, str]:
    """`user:<id>` -> «ФИО (e-mail)» for the assignees on a page, in one query (the journal's own naming)."""
    return {actor: name for actor, (name, _) in actor_names(session, actors).items()}


def who_may_take(session: Session, task_roles: Iterable[str | None]) -> list[tuple[User, set[str | None]]]:
    """Active case-working staff by name, each with which of `task_roles` they may take (`may_take`);
    people who may take none of them are left out."""
    roles = set(task_roles)
    if not roles:
        return []
    users = session.scalars(select(User).where(User.role.in_(CASE_WORKERS), User.is_active.is_(True))
                            .order_by(User.last_name, User.first_name, User.id))
    return [(u, can) for u in users if (can := {r for r in roles if may_take(u.role, r)})]


def assignable_staff(session: Session, task_roles: Iterable[str | None]) -> list[User]:
    """Whom a supervisor may hand tasks of all `task_roles` to: active staff who may take every one."""
    roles = set(task_roles)
    return [u for u, can in who_may_take(session, roles) if can == roles]


def staff_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None
