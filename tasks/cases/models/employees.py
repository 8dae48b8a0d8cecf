"""Tables of an organisation's employee list: the list on the case and one row per employee.

One `employee_list` row per case, replaced in place by every upload (its `version` counts the
uploads): the file's name and digest, the outcome of reading it (accepted or rejected, the row
problems, the stored problems report), the progress of a check running in a worker, and which
attempt's registry checks took it (`locked_attempt`: from then on it cannot be replaced until the
case waits for a resubmission). `employee` holds the accepted rows, normalised, and per row the
ЕРЗЛ result of the latest check; `batch` is the multi-instance batch the process checks it in.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import BigId

from . import cases as _case_models  # noqa: F401  (application, referenced by application_id)


class CaseEmployeeList(Base):
    __tablename__ = "employee_list"
    __table_args__ = (UniqueConstraint("application_id", name="uq_employee_list_application_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE",
                                                           name="fk_employee_list_application_id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # checking | accepted | rejected | refused
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # rows with at least one problem
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [{row, field, code, message}]
    error: Mapped[dict | None] = mapped_column(JSON)  # a refused file: {code, message, status}
    report_key: Mapped[str | None] = mapped_column(String(200))  # the problems report (XLSX)
    file_key: Mapped[str | None] = mapped_column(String(200))  # the upload, only while a worker reads it
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    locked_attempt: Mapped[int | None] = mapped_column(Integer)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_employee_list_uploaded_by"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Employee(Base):
    __tablename__ = "employee"
    __table_args__ = (
        UniqueConstraint("application_id", "seq", name="uq_employee_application_seq"),
        Index("ix_employee_application_batch", "application_id", "batch"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE",
                                                           name="fk_employee_application_id"))
    seq: Mapped[int] = mapped_column(Integer)  # 0-based position among the accepted rows
    row: Mapped[int] = mapped_column(Integer)  # the row number in the uploaded file
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    inn: Mapped[str | None] = mapped_column(String(12))
    position: Mapped[str] = mapped_column(String(200))
    enp: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254))
    batch: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(20))  # insured | not_insured; None until checked
    reason: Mapped[str | None] = mapped_column(Text)
    insurer_name: Mapped[str | None] = mapped_column(String(300))
    insurer_code: Mapped[str | None] = mapped_column(String(20))
    checked_attempt: Mapped[int | None] = mapped_column(Integer)
