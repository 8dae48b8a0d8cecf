"""Tables of instance migrations: one row per run, one per case it moved or could not move.

A moved case keeps its previous state, projection snapshot and version, so the run can be reverted;
the digest of the state the move left lets a revert tell a case that has moved on since.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base
from .models import BigId


class InstanceMigration(Base):
    __tablename__ = "instance_migration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    source_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    target_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    source_version: Mapped[int] = mapped_column(Integer)
    target_version: Mapped[int] = mapped_column(Integer)
    # queued -> running -> done | failed; done -> reverting -> reverted | failed
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total: Mapped[int] = mapped_column(Integer, default=0)  # running cases on the source version at the start
    processed: Mapped[int] = mapped_column(Integer, default=0)
    migrated: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    reverted: Mapped[int] = mapped_column(Integer, default=0)
    kept: Mapped[int] = mapped_column(Integer, default=0)  # moved on since the migration: not reverted
    revert_actor: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)


class InstanceMigrationCase(Base):
    __tablename__ = "instance_migration_case"
    __table_args__ = (Index("ix_instance_migration_case_run", "migration_id", "status", "instance_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("instance_migration.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # migrated | blocked | reverted | moved_on
    reason: Mapped[dict | None] = mapped_column(JSON)  # the obstacle of a blocked case
    previous_version_id: Mapped[int | None] = mapped_column(Integer)
    previous_state: Mapped[str | None] = mapped_column(Text)
    previous_projection: Mapped[dict | None] = mapped_column(JSON)
    migrated_digest: Mapped[str | None] = mapped_column(String(64))
