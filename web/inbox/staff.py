"""Staff as the inbox names them: assignees by ФИО, and who a task may be reassigned to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..dashboard.audit import actor_names


def staff_names(session: Session, actors: set[str | None]) -> dict[str, str]:
    """`user:<id>` -> «ФИО (e-mail)» for the assignees on a page, in one query (the journal's own naming)."""
    return {actor: name for actor, (name, _) in actor_names(session, actors).items()}


def assignable_staff(session: Session, role: str | None) -> list[User]:
    """Active staff of a task's role, by name: the people a supervisor may hand the task to."""
    if not role:
        return []
    return list(session.scalars(select(User).where(User.role == role, User.is_active.is_(True))
                                .order_by(User.last_name, User.first_name, User.id)))


def staff_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None
