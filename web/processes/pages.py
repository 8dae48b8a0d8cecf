"""What is deployed: every process with its versions, how many cases run on each, and the lane → role map.

The analyst's landing page until a process editor exists: it reads the engine's own tables
(counts only, no case is opened, so nothing here is journaled and no personal data is shown).
Administrators see it too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import LaneRole, ProcessInstance, ProcessVersion

from ..accounts.roles import ADMIN, ANALYST, ROLE_LABELS
from ..extensions import db
from ..security import roles_required

bp = Blueprint("processes", __name__)
SYSTEM_LANE_ROLE = "system"  # lanes run by the engine itself (service tasks), not by people


@dataclass
class VersionRow:
    version: int
    deployed_at: datetime
    running: int = 0
    finished: int = 0


@dataclass
class ProcessRow:
    process_id: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)  # newest first


def deployed_processes(session: Session) -> list[ProcessRow]:
    """Processes by name, each with its versions newest first and the cases started on each."""
    counts: dict[tuple[int, bool], int] = {
        (version_id, bool(completed)): n for version_id, completed, n in session.execute(
            select(ProcessInstance.version_id, ProcessInstance.completed, func.count())
            .group_by(ProcessInstance.version_id, ProcessInstance.completed))}
    rows = session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.name, ProcessVersion.version,
               ProcessVersion.deployed_at)
        .order_by(ProcessVersion.process_id, ProcessVersion.version.desc()))
    processes: dict[str, ProcessRow] = {}
    for row in rows:
        process = processes.setdefault(row.process_id, ProcessRow(row.process_id, row.name or row.process_id))
        process.versions.append(VersionRow(row.version, row.deployed_at, counts.get((row.id, False), 0),
                                           counts.get((row.id, True), 0)))
    return sorted(processes.values(), key=lambda p: p.name.lower())


def lane_roles(session: Session) -> list[tuple[str, str]]:
    """(lane, the Russian name of its role) for the lanes people work in."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for lane, role in session.execute(select(LaneRole.lane, LaneRole.role).order_by(LaneRole.lane)):
        if role != SYSTEM_LANE_ROLE:
            grouped[lane].append(ROLE_LABELS.get(role, role))
    return [(lane, ", ".join(roles)) for lane, roles in grouped.items()]


@bp.get("/processes")
@roles_required(ANALYST, ADMIN)
def index() -> str:
    processes, lanes = deployed_processes(db.session), lane_roles(db.session)
    db.session.commit()  # end the read transaction before rendering
    return render_template("processes/index.html", processes=processes, lanes=lanes)
