"""Saved filters of one staff member: list, save (same name: replaced), delete."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.errors import FieldError
from tasks.inbox.filters import InvalidFilter, parse_filter
from tasks.inbox.models import SavedFilter

MAX_FILTERS = 50
MAX_NAME = 100


def saved_filters(session: Session, user_id: int) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id)
                                .order_by(SavedFilter.name, SavedFilter.id)))


def save_filter(session: Session, user_id: int, role: str, name: str, query: str) -> SavedFilter:
    """Store `query` under `name`; InvalidFilter when the name is empty or the query itself is invalid.

    The query string is checked by the same parser the inbox uses, and only filter parameters are
    kept (not the page number): a saved filter opens at its first page.
    """
    name = " ".join((name or "").split())
    errors = []
    if not name:
        errors.append(FieldError("name", "required", "Введите название фильтра"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "maxLength", f"Не больше {MAX_NAME} символов"))
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False)
             if k not in ("page", "offset", "limit", "since")]
    try:
        parse_filter(dict(pairs), role)
    except InvalidFilter as exc:
        errors.extend(exc.fields)
    existing = session.scalar(select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == name))
    if existing is None and len(saved_filters(session, user_id)) >= MAX_FILTERS:
        errors.append(FieldError("name", "maxItems", f"Можно сохранить не больше {MAX_FILTERS} фильтров"))
    if errors:
        raise InvalidFilter(errors)
    if existing is None:
        existing = SavedFilter(user_id=user_id, name=name, query="", created_at=utcnow())
        session.add(existing)
    existing.query = urlencode(pairs)[:1000]
    session.flush()
    return existing


def delete_filter(session: Session, user_id: int, filter_id: int) -> bool:
    """False when there is no such filter of this user (someone else's looks the same as none)."""
    found = session.get(SavedFilter, filter_id)
    if found is None or found.user_id != user_id:
        return False
    session.delete(found)
    session.flush()
    return True
