"""Saved inbox filters: a name and the inbox's own query string, per staff member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from tasks.accounts import models as _accounts  # noqa: F401  (app_user, referenced by user_id)


class SavedFilter(Base):
    """«Просроченные проверки», «Мои на сегодня»...: the query string is replayed as it was saved,
    so a saved filter is parsed and validated exactly like a typed one."""

    __tablename__ = "inbox_saved_filter"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_inbox_saved_filter_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_inbox_saved_filter_user_id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
