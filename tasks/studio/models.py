"""The studio's drafts: a set of BPMN/DMN files uploaded by an analyst, on their way to a deploy.

A draft goes draft -> proposed (by its proposer, with a comment) -> approved (by another analyst or
an administrator, which deploys it) or rejected. The files are kept as uploaded, so what the
approver reviewed is exactly what gets deployed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base

DRAFT, PROPOSED, APPROVED, REJECTED = "draft", "proposed", "approved", "rejected"
STATUS_LABELS = {DRAFT: "черновик", PROPOSED: "предложен к развёртыванию", APPROVED: "одобрен и развёрнут",
                 REJECTED: "отклонён"}


class ProcessDraft(Base):
    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    files: Mapped[dict] = mapped_column(JSON)  # file name -> XML text, as uploaded
    author: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), index=True)
    comment: Mapped[str | None] = mapped_column(Text)  # the proposer's why; becomes the versions' comment
    proposer: Mapped[str | None] = mapped_column(String(254))
    approver: Mapped[str | None] = mapped_column(String(254))
    deployed: Mapped[list | None] = mapped_column(JSON)  # [{process_id, version}] once approved
    # Optimistic locking of edits in the browser: +1 per saved file change, so a stale save is refused
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by: Mapped[str | None] = mapped_column(String(254))  # who saved last (the conflict message names them)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)
