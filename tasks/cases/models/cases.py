"""Tables of the OMS service: applications (cases), wizard drafts, documents, certificates.

The process state, status and journal of a case live in the engine's tables (process_instance,
journal), joined by the case number, which is the instance's business key. These tables hold what
the engine does not know: who applied, what they submitted, which files came with it, and the
certificate issued at the end.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId
from tasks.accounts import models as _accounts  # noqa: F401  (app_user, referenced by owner_id)


class CaseCounter(Base):
    """The last case number handed out per year (numbers look like 2026-000123)."""

    __tablename__ = "case_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Application(Base):
    __tablename__ = "application"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    applicant: Mapped[str] = mapped_column(String(20))  # individual | organization
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    data: Mapped[dict] = mapped_column(JSON)  # the submitted application, API-shaped
    search_name: Mapped[str] = mapped_column(String(400), index=True)  # ФИО / organisation, lower case
    snils: Mapped[str | None] = mapped_column(String(11), index=True)  # digits only, for the staff inbox search
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when the retention job reduced the personal data of the closed case (tasks/cases/retention.py).
    minimised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Draft(Base):
    """The wizard's state between steps, kept on the server so a browser restart loses nothing."""

    __tablename__ = "application_draft"
    __table_args__ = (UniqueConstraint("owner_id", "applicant", name="uq_draft_owner"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    applicant: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON)
    step: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """An uploaded file; the bytes live under the data dir, named by id, never by the user's name."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("application_draft.id", ondelete="SET NULL"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when the retention job deleted the file; the row stays as the record of what was held.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Certificate(Base):
    """An issued certificate: rendered once, stored, served and verified many times.

    An organisation's employee register is a row of kind "register" (tasks/cases/registers.py): it
    has a number, a QR code and a verification page like a certificate, so both share one table and
    one verification path. For a register `holder_masked` is the organisation's name (no personal
    data), `data` holds the organisation's requisites and the employee counts, and the XLSX copy
    sits beside the PDF (`xlsx_storage_key`, `xlsx_sha256`).
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="certificate", server_default="certificate")
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    holder_masked: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON)  # what was printed (for verification and re-rendering)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    xlsx_storage_key: Mapped[str | None] = mapped_column(String(200))
    xlsx_sha256: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------- rejection, resubmission, appeals
class ApplicationAttempt(Base):
    """What the citizen submitted at each attempt (1 = the original application, 2.. = resubmissions).

    Application.data holds the current attempt only; this table keeps every attempt so that nothing
    the citizen once submitted is lost when they correct it (and an appeal can see what was refused).
    """

    __tablename__ = "application_attempt"
    __table_args__ = (UniqueConstraint("application_id", "attempt", name="uq_application_attempt"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    document_ids: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RefusalDecision(Base):
    """A «Решение об отказе»: rendered once per refused attempt, stored, downloaded by the applicant."""

    __tablename__ = "refusal_decision"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 2026-000123/1: case number / attempt
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON)  # [{"code", "note"}], as the process decided
    explanation: Mapped[str | None] = mapped_column(Text)
    reply_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Appeal(Base):
    """An appeal against a refusal: level 1 (appeals specialist) or 2 (the higher authority)."""

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # A-2026-000123, A-2026-000123/2
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    grounds: Mapped[str] = mapped_column(Text)
    document_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))  # registered | info_requested | decided
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(20))  # overturn | uphold
    decision_comment: Mapped[str | None] = mapped_column(Text)
