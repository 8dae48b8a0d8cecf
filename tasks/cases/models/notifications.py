"""Tables of notifications: what a citizen reads in the portal, and which deliveries already went out.

`notification` is the in-portal list («Уведомления»): every notice sent to a citizen lands here,
whatever the other channels do. `notification_delivery` is the idempotency record of the sending
operator: one row per (service call, channel, recipient) under a unique key, so that a retried job
skips what an earlier attempt already delivered (an SMS failure never re-sends the e-mail) and a
notice appears once in the portal however often its job runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId
from tasks.accounts import models as _accounts  # noqa: F401  (app_user, referenced by user_id)


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_notification_dedup_key"),
        # The list (newest first) and the unread counter of the nav read through this index.
        Index("ix_notification_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_notification_user_id"))
    case_number: Mapped[str | None] = mapped_column(String(20), index=True)
    event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "call:<service call id>:portal:<user id>" when sent by an outbox call; NULL for direct sends.
    dedup_key: Mapped[str | None] = mapped_column(String(120))


class NotificationDelivery(Base):
    """One channel of one notice to one person: sent, or given up after its attempts."""

    __tablename__ = "notification_delivery"
    __table_args__ = (UniqueConstraint("key", name="uq_notification_delivery_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120))  # "call:<id>:<channel>:<user id>"
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_notification_delivery_user_id"), index=True)
    case_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # pending | sending (leased) | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # While «sending»: until when the run that took the lease may send before another may take it over.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
