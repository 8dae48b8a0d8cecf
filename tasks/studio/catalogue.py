"""What is deployed, read from the engine's own tables: processes, their versions and cases per version.

One reading for the studio's pages and its JSON API, so both always agree. Counts only: no case
is opened, so nothing here is journaled and no personal data leaves the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.models import ProcessInstance, ProcessVersion
from engine.versions import current_version, current_versions
from tasks.errors import ApiError


@dataclass
class VersionRow:
    version: int
    deployed_at: datetime
    deployed_by: str | None
    running: int = 0
    finished: int = 0
    comment: str | None = None  # why it was deployed (`backoffice workflows deploy --comment`)


@dataclass
class ProcessRow:
    process_id: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)  # newest first
    current_version: int | None = None  # the version new cases get (the last deployed, or a rollback's)
    # BPMN files of the processes the current version calls: a called process has no row of its own, it is
    # part of each caller's versions
    calls: list[str] = field(default_factory=list)


def deployed_processes(session: Session) -> list[ProcessRow]:
    """Processes by name, each with its versions newest first and the cases started on each."""
    counts: dict[tuple[int, bool], int] = {
        (version_id, bool(completed)): n for version_id, completed, n in session.execute(
            select(ProcessInstance.version_id, ProcessInstance.completed, func.count())
            .group_by(ProcessInstance.version_id, ProcessInstance.completed))}
    rows = session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.name, ProcessVersion.version,
               ProcessVersion.deployed_at, ProcessVersion.deployed_by, ProcessVersion.comment)
        .order_by(ProcessVersion.process_id, ProcessVersion.version.desc()))
    processes: dict[str, ProcessRow] = {}
    for row in rows:
        process = processes.setdefault(row.process_id, ProcessRow(row.process_id, row.name or row.process_id))
        process.versions.append(VersionRow(row.version, row.deployed_at, row.deployed_by,
                                           counts.get((row.id, False), 0), counts.get((row.id, True), 0),
                                           row.comment))
    current = current_versions(session)
    for pid, number in current.items():
        processes[pid].current_version = number
    _add_calls(session, processes, current)
    return sorted(processes.values(), key=lambda p: p.name.lower())


def _add_calls(session: Session, processes: dict[str, ProcessRow], current: dict[str, int]) -> None:
    """The called processes' files of each current version (only those rows' sources are read)."""
    if not current:
        return
    rows = session.execute(select(ProcessVersion.process_id, ProcessVersion.sources).where(or_(*(
        and_(ProcessVersion.process_id == pid, ProcessVersion.version == number) for pid, number in current.items()))))
    for pid, sources in rows:
        processes[pid].calls = [name for name in sorted(sources or {})
                                if name.endswith(".bpmn") and f'id="{pid}"' not in sources[name]]


def process_version(session: Session, process_id: str, version: int) -> ProcessVersion:
    """One deployed version with its sources; 404 (page or API) when there is no such version."""
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                      ProcessVersion.version == version))
    if row is None:
        raise ApiError(404, "not_found", f"У процесса «{process_id}» нет версии {version}.")
    return row


def is_current(session: Session, row: ProcessVersion) -> bool:
    """Whether new cases start on this version."""
    return current_version(session, row.process_id).id == row.id


def ordered_files(row: ProcessVersion) -> list[str]:
    """The version's files: the BPMN that defines the process first, then other BPMN, then DMN."""
    def key(name: str) -> tuple[int, str]:
        text = row.sources[name]
        if name.endswith(".bpmn"):
            return (0 if f'id="{row.process_id}"' in text else 1, name)
        return (2, name)

    return sorted(row.sources, key=key)
