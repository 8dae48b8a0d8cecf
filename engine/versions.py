"""Deployed versions: the latest one per process, and restored specs cached per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import ProcessVersion
from .serialization import SpecBundle, StateSerializer


class SpecCache:
    """Restoring a spec costs milliseconds; a version never changes, so each is restored once."""

    def __init__(self, serializer: StateSerializer) -> None:
        self.serializer = serializer
        self._bundles: dict[int, SpecBundle] = {}
        self._forms: dict[int, dict] = {}
        self._lock = threading.Lock()

    def bundle(self, session: Session, version_id: int) -> SpecBundle:
        cached = self._bundles.get(version_id)
        if cached is not None:
            return cached
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id} does not exist")
        bundle = self.serializer.load_specs(row.spec_json)
        with self._lock:
            self._bundles[version_id] = bundle
            self._forms[version_id] = row.forms or {}
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


def latest_version(session: Session, process_id: str) -> VersionRef:
    """Only the id and number: the row also holds the sources and the spec, which every start would
    otherwise drag over the wire (the spec itself comes from SpecCache)."""
    row = session.execute(
        select(ProcessVersion.id, ProcessVersion.version).where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return VersionRef(row.id, row.version)
