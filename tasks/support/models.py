"""Tables of support requests: the request, its thread of messages and their attached files, and the
record of an application a support specialist filed on a citizen's call.

The request's state (open, answered, needs_info, closed) is the status its process instance sets
(workflows/support_request.bpmn), so routing and terms stay in the diagram; the rows here hold what
people wrote, which the thread shows and the journal refers to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId
from tasks.cases.models import cases as _cases  # noqa: F401  (application, document: referenced below)


class SupportCounter(Base):
    """The last support request number handed out per year (O-2026-000017)."""

    __tablename__ = "support_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class SupportRequest(Base):
    __tablename__ = "support_request"
    __table_args__ = (UniqueConstraint("number", name="uq_support_request_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_support_request_owner_id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    case_number: Mapped[str | None] = mapped_column(String(20))
    # The process answering it; none for «обжалование отказа», which became the case's appeal.
    instance_id: Mapped[int | None] = mapped_column(BigId, index=True)
    appeal_number: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SupportMessage(Base):
    """One entry of a request's thread: the citizen's text, or a specialist's reply, request or resolution."""

    __tablename__ = "support_message"
    __table_args__ = (UniqueConstraint("dedup_key", name="uq_support_message_dedup_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("support_request.id", ondelete="CASCADE",
                                                       name="fk_support_message_request_id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", name="fk_support_message_author_id"))
    kind: Mapped[str] = mapped_column(String(20))  # request | message | reply | ask | close
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The outbox call that wrote a staff reply: a retried job finds its row and writes no second one.
    dedup_key: Mapped[str | None] = mapped_column(String(120))


class SupportAttachment(Base):
    """A screenshot (or scan) attached to a message; the file is an uploaded document like a case's."""

    __tablename__ = "support_attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("support_message.id", ondelete="CASCADE",
                                                       name="fk_support_attachment_message_id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", name="fk_support_attachment_document_id"))


class AssistedFiling(Base):
    """An application a support specialist filed on the citizen's call («горячая линия»)."""

    __tablename__ = "assisted_filing"
    __table_args__ = (UniqueConstraint("application_id", name="uq_assisted_filing_application_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", name="fk_assisted_filing_application_id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_assisted_filing_staff_id"))
    channel: Mapped[str] = mapped_column(String(20))  # hotline
    identified_by: Mapped[str] = mapped_column(String(10))  # enp | snils: what the registry confirmed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
