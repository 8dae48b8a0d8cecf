"""Tables of the BPM runtime.

The instance row holds the serialized workflow state (without its spec, which is stored once
per deployed version) and a small `projection` snapshot: which human tasks, timers, service
calls and message subscriptions were derived from the state at the last save. Diffing against
that snapshot keeps each save to the rows that actually change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

JsonType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ProcessVersion(Base):
    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sources: Mapped[dict] = mapped_column(JSON)  # file name -> XML text
    spec_json: Mapped[str] = mapped_column(Text)  # serialized spec + subprocess specs
    forms: Mapped[dict] = mapped_column(JSON)  # schema file name -> JSON Schema
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)  # why this version was deployed (the catalogue shows it)


class ProcessCurrent(Base):
    """Which version new cases of a process start on; set by a deploy and by a rollback.

    A process without a row starts on its newest version, which is what every deploy made current
    before this table existed.
    """

    __tablename__ = "process_current"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[str | None] = mapped_column(String(200))


class LaneRole(Base):
    """Lane names are Russian words in the diagrams; roles are stable codes used by the inboxes."""

    __tablename__ = "lane_role"

    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(50))


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    # /metrics counts cases started and finished per process from this index alone.
    __table_args__ = (Index("ix_process_instance_process_completed", "process_id", "completed"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str | None] = mapped_column(String(50), index=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(Text)
    projection: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set while a supervisor holds the instance: its timers and service calls wait (engine/control.py).
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HumanTask(Base):
    __tablename__ = "human_task"
    # Inbox pages read open tasks by role or assignee, sorted by due date or by date received; the
    # queue index also covers the columns queue totals and SLA counts need (index-only scans).
    __table_args__ = (
        Index("ix_human_task_queue_cover", "role", "status", "due_at", "created_at", "spec_name", "id"),
        Index("ix_human_task_role_created", "role", "status", "created_at"),
        Index("ix_human_task_status_due", "status", "due_at"),
        Index("ix_human_task_status_created", "status", "created_at"),
        Index("ix_human_task_assignee", "assignee", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    spec_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(50))
    form_schema: Mapped[str | None] = mapped_column(String(300))
    form_ui: Mapped[str | None] = mapped_column(String(300))
    instructions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(200))


class ServiceCall(Base):
    """The outbox: one row per STARTED async service task, written with the instance state."""

    __tablename__ = "service_call"
    __table_args__ = (
        Index("ix_service_call_due", "status", "next_attempt_at"),
        Index("ix_service_call_job", "status", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), index=True)
    task_spec: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # queued|retry_wait|suspended|done|failed|incident|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(64))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Timer(Base):
    """One waiting timer; the scheduler reads only rows with due_at <= now through the index."""

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_guid", name="uq_timer_task"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MessageSubscription(Base):
    __tablename__ = "message_subscription"
    __table_args__ = (
        UniqueConstraint("instance_id", "message_name", name="uq_message_subscription"),
        Index("ix_message_lookup", "message_name", "correlation"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    correlation: Mapped[str | None] = mapped_column(String(100))


class HeldMessage(Base):
    """A message that reached a suspended instance: kept here and delivered, in arrival order, on resume."""

    __tablename__ = "held_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JournalEntry(Base):
    """Append-only audit journal: nothing updates or deletes these rows."""

    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(50))
    task_spec: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JsonType)


class Step(Base):
    """One pass of a case through a diagram element, written when the element completes.

    The path a case took (`source` -> `element` is the sequence flow between two BPMN elements), the
    case's diagram and the step analytics read these rows; the workflow state keeps no such history
    once a case moves on. `entered_at` is when the element became active, `started_at` when work on it
    began (a person claimed the task; a service call was handed to a worker; empty where there is
    nothing but waiting), `ended_at` when it completed.
    """

    __tablename__ = "step"
    # Analytics read one process over a period of completion times; the covering columns let
    # PostgreSQL answer from the index alone.
    __table_args__ = (
        Index("ix_step_process_ended", "process_id", "ended_at",
              postgresql_include=["element", "source", "instance_id", "entered_at", "started_at", "due_at"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    element: Mapped[str] = mapped_column(String(200))  # the BPMN element id
    kind: Mapped[str] = mapped_column(String(50))  # the element's type: UserTask, ServiceTask, ExclusiveGateway...
    source: Mapped[str | None] = mapped_column(String(200))  # the BPMN element the case came from
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a user task's deadline
    actor: Mapped[str | None] = mapped_column(String(200))  # who completed a user task
    details: Mapped[dict | None] = mapped_column(JSON)  # what happened there, e.g. the decision rows that fired
