"""Reading and marking a citizen's notifications, and changing their SMS settings.

Shared by the pages and the JSON API so both apply the same rules: a person sees and marks only
their own notices (anyone else's id is «not found»), and SMS needs both consent and a valid number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from engine.errors import DataValidationError, FieldError
from forms.identifiers import check_phone, normalize_phone
from tasks.accounts.models import User
from tasks.cases.models.notifications import Notification

PAGE_SIZE = 20
NO_PHONE_FOR_SMS = "Чтобы получать SMS-уведомления, укажите номер мобильного телефона"


@dataclass(frozen=True)
class NotificationView:
    """A notice as read, detached from the session (the journal's commit would expire ORM rows)."""

    id: int
    case_number: str | None
    event: str
    title: str
    text: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, note: Notification) -> NotificationView:
        return cls(note.id, note.case_number, note.event, note.title, note.text, aware(note.created_at),
                   aware(note.read_at))


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    total: int
    unread: int


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def list_notifications(session: Session, user: User, *, limit: int = PAGE_SIZE, offset: int = 0,
                       unread_only: bool = False) -> NotificationPage:
    """A page of the user's notices, newest first; the read is journaled (the texts name the person)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = [NotificationView.of(n) for n in session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset))]
    unread = unread_count(session, user.id)
    journal.record(session, None, "notifications_viewed", actor=f"user:{user.id}",
                   details={"role": user.role, "shown": [n.id for n in items]})
    session.commit()
    return NotificationPage(items, total, unread)


def own_notification(session: Session, user: User, notification_id: int) -> Notification | None:
    note = session.get(Notification, notification_id)
    return note if note is not None and note.user_id == user.id else None


def mark_read(session: Session, user: User, notification_id: int) -> Notification | None:
    """Mark one of the user's notices read (idempotent); None when it is not theirs or does not exist."""
    note = own_notification(session, user, notification_id)
    if note is None:
        return None
    if note.read_at is None:
        note.read_at = utcnow()
        session.commit()
    return note


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(update(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                             .values(read_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def notification_json(note: Notification | NotificationView) -> dict[str, Any]:
    read_at = aware(note.read_at)
    return {"id": note.id, "case_number": note.case_number, "event": note.event, "title": note.title,
            "text": note.text, "created_at": aware(note.created_at).isoformat(),
            "read_at": read_at.isoformat() if read_at else None, "read": read_at is not None}


def settings_json(user: User) -> dict[str, Any]:
    return {"phone": user.phone, "sms_opt_in": bool(user.sms_opt_in)}


def update_settings(session: Session, user: User, *, phone: Any = None, sms_opt_in: Any = None,
                    field_prefix: str = "") -> User:
    """Change the phone and/or the SMS consent (None leaves a value as it is); journaled, without values.

    Raises DataValidationError with Russian per-field messages.
    """
    problems: list[FieldError] = []
    new_phone = user.phone
    if phone is not None:
        if not isinstance(phone, str) or not phone.strip():
            problems.append(FieldError(f"{field_prefix}phone", "required", "Укажите номер мобильного телефона"))
        elif (problem := check_phone(phone)) is not None:
            problems.append(FieldError(f"{field_prefix}phone", problem.code, problem.message))
        else:
            new_phone = normalize_phone(phone)
    new_opt_in = bool(user.sms_opt_in)
    if sms_opt_in is not None:
        if not isinstance(sms_opt_in, bool):
            problems.append(FieldError(f"{field_prefix}sms_opt_in", "type", "Ожидается true или false"))
        else:
            new_opt_in = sms_opt_in
    if not problems and new_opt_in and not new_phone:
        problems.append(FieldError(f"{field_prefix}phone", "required", NO_PHONE_FOR_SMS))
    if problems:
        raise DataValidationError("notification settings are invalid", problems)
    changed = [name for name, old, new in (("phone", user.phone, new_phone),
                                           ("sms_opt_in", bool(user.sms_opt_in), new_opt_in)) if old != new]
    user.phone, user.sms_opt_in = new_phone, new_opt_in
    if changed:
        journal.record(session, None, "profile_changed", actor=f"user:{user.id}", details={"fields": changed})
    session.commit()
    return user
