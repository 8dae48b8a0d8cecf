"""Deployed versions: the current one per process, and restored specs cached per process.

New cases start on a process's *current* version: the one its last deploy created, or the earlier one
a rollback chose (``process_current``). Running cases stay on the version they started on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import journal
from .clock import utcnow
from .errors import NotFound
from .models import ProcessCurrent, ProcessVersion
from .serialization import SpecBundle, StateSerializer


class SpecCache:
    """Restoring a spec costs milliseconds; a version never changes, so each is restored once per process.

    Instance states are stored without their spec (engine/serialization.py), so a restore of an instance
    only rebuilds its task tree around the cached spec objects: the spec is neither parsed from BPMN nor
    deserialised again. `restored` counts the restorations per version, for tests and benchmarks.
    """

    def __init__(self, serializer: StateSerializer) -> None:
        self.serializer = serializer
        self._bundles: dict[int, SpecBundle] = {}
        self._forms: dict[int, dict] = {}
        self._lock = threading.Lock()
        self.restored: dict[int, int] = {}

    def bundle(self, session: Session, version_id: int) -> SpecBundle:
        cached = self._bundles.get(version_id)
        if cached is not None:
            return cached
        with self._lock:  # threads asking for the same new version at once restore it once
            cached = self._bundles.get(version_id)
            if cached is not None:
                return cached
            row = session.get(ProcessVersion, version_id)
            if row is None:
                raise NotFound(f"process version {version_id} does not exist")
            bundle = self.serializer.load_specs(row.spec_json)
            self._forms[version_id] = row.forms or {}
            self._bundles[version_id] = bundle
            self.restored[version_id] = self.restored.get(version_id, 0) + 1
        return bundle

    def forms(self, session: Session, version_id: int) -> dict:
        if version_id not in self._forms:
            self.bundle(session, version_id)
        return self._forms[version_id]

    def element_names(self, session: Session, version_id: int) -> dict[str, str]:
        """Element id -> the name the diagram gives it (tasks, events, subprocesses), so a journal row
        that stores an element's id can be shown by the modeller's name for it."""
        bundle = self.bundle(session, version_id)
        names: dict[str, str] = {}
        for spec in (bundle.spec, *bundle.subprocess_specs.values()):
            for spec_id, task_spec in spec.task_specs.items():
                if getattr(task_spec, "bpmn_name", None):
                    names[spec_id] = task_spec.bpmn_name
        return names


@dataclass(frozen=True)
class VersionRef:
    id: int
    version: int


def current_version(session: Session, process_id: str) -> VersionRef:
    """The version new cases start on: the pointer when set, else the newest version.

    Only the id and number: the row also holds the sources and the spec, which every start would
    otherwise drag over the wire (the spec itself comes from SpecCache)."""
    pinned = pinned_version(session, process_id)
    if pinned is not None:
        return pinned
    row = session.execute(
        select(ProcessVersion.id, ProcessVersion.version).where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return VersionRef(row.id, row.version)


def pinned_version(session: Session, process_id: str) -> VersionRef | None:
    """The version the process's pointer names, None when it has no pointer."""
    row = session.execute(
        select(ProcessVersion.id, ProcessVersion.version)
        .join(ProcessCurrent, ProcessCurrent.version_id == ProcessVersion.id)
        .where(ProcessCurrent.process_id == process_id)
    ).first()
    return VersionRef(row.id, row.version) if row is not None else None


def current_versions(session: Session) -> dict[str, int]:
    """process id -> number of its current version, for every deployed process."""
    newest: dict[str, int] = {}
    for pid, number in session.execute(select(ProcessVersion.process_id, ProcessVersion.version)):
        newest[pid] = max(number, newest.get(pid, 0))
    pinned = session.execute(select(ProcessCurrent.process_id, ProcessVersion.version)
                             .join(ProcessVersion, ProcessVersion.id == ProcessCurrent.version_id))
    return {**newest, **{pid: number for pid, number in pinned}}


def make_current(session: Session, process_id: str, version: int, actor: str | None,
                 reason: str = "rollback") -> bool:
    """Point new cases of ``process_id`` at ``version`` (journaled with ``actor``); False if it already was.

    Running cases keep their own version: only the pointer moves, no instance is touched.
    """
    target = session.execute(select(ProcessVersion.id).where(
        ProcessVersion.process_id == process_id, ProcessVersion.version == version)).scalar()
    if target is None:
        raise NotFound(f"process {process_id!r} has no version {version}")
    previous = current_version(session, process_id)
    if previous.id == target:
        return False
    point_at(session, process_id, target, actor)
    journal.record(session, None, "current_version_set", actor=actor, message=f"{process_id} v{version}",
                   details={"process_id": process_id, "version": version, "previous_version": previous.version,
                            "reason": reason})
    return True


def point_at(session: Session, process_id: str, version_id: int, actor: str | None) -> None:
    """Set the pointer row (a deploy journals its own "deployed" row, so nothing is journaled here)."""
    pointer = session.get(ProcessCurrent, process_id, with_for_update=True)
    if pointer is None:
        session.add(ProcessCurrent(process_id=process_id, version_id=version_id, set_at=utcnow(), set_by=actor))
    else:
        pointer.version_id, pointer.set_at, pointer.set_by = version_id, utcnow(), actor
