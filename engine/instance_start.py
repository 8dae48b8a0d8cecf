"""The row of a new instance, inserted on its process's current version without reading that version first.

Which version new cases start on changes only with a deploy or a rollback, yet looking it up cost every
start a statement. A process remembers the version it last started each process on, and the INSERT itself
checks that it is still the current one: it inserts nothing when a deploy (in any process) has moved
the pointer since, and the start then reads the current version and inserts again. No start ever runs on a
version that is not current when it commits.
"""

from __future__ import annotations

import threading

from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from .models import ProcessCurrent, ProcessInstance
from .versions import VersionRef, current_version, pinned_version

_COLUMNS = [attr.columns[0] for attr in inspect(ProcessInstance).column_attrs if attr.key != "id"]
_TABLE = ProcessInstance.__table__
# Built once (building it cost a start more than running it): the row's values, inserted only while the
# version is still its process's current one.
_INSERT_IF_CURRENT = (
    insert(_TABLE)
    .from_select([c.key for c in _COLUMNS], select(*[bindparam(f"v_{c.key}", type_=c.type) for c in _COLUMNS])
                 .where(select(ProcessCurrent.process_id)
                        .where(ProcessCurrent.process_id == bindparam("v_process_id"),
                               ProcessCurrent.version_id == bindparam("v_version_id")).exists()))
    .returning(_TABLE.c.id))


class CurrentVersions:
    """Process id -> the version this process last started it on (a hint, checked by every INSERT)."""

    def __init__(self) -> None:
        self._known: dict[str, VersionRef] = {}
        self._lock = threading.Lock()

    def insert(self, session: Session, inst: ProcessInstance) -> VersionRef:
        """Give `inst` (transient, every column set but the version) the current version and insert it;
        it is then persistent in `session` with its id."""
        known = self._known.get(inst.process_id)
        if known is not None and _insert_if_current(session, inst, known):
            return known
        pinned = pinned_version(session, inst.process_id)
        if pinned is not None and _insert_if_current(session, inst, pinned):
            with self._lock:
                self._known[inst.process_id] = pinned
            return pinned
        # No pointer (a process deployed before pointers existed), or it moved again meanwhile.
        version = current_version(session, inst.process_id)
        inst.version_id = version.id
        session.add(inst)
        session.flush()
        return version


def _insert_if_current(session: Session, inst: ProcessInstance, version: VersionRef) -> bool:
    inst.version_id = version.id
    new_id = session.scalar(_INSERT_IF_CURRENT, {f"v_{c.key}": getattr(inst, c.key) for c in _COLUMNS})
    if new_id is None:
        return False
    inst.id = new_id
    make_transient_to_detached(inst)  # the row exists: the session tracks the object's changes from here
    session.add(inst)
    return True
