"""Workflows a job has just saved, kept in memory for its next inline round on the same instance.

A worker that applies a service result runs the next service task of the same instance in the same job
(engine/service_worker.py), and applies its result in a new transaction. Restoring the workflow from the
state it has itself just committed would cost a JSON parse and a SpiffWorkflow deserialisation for nothing,
so the job keeps the object with the state text it saved.

On PostgreSQL the job also keeps the instance's row and its version (`xmin`, which any later change of the
row replaces) - as its first read found them (engine/service_worker.py; the workflow is then restored once)
or as its last round committed them - and a round need not lock and read the row before it works: its save's
statement locks the row only if it is still that version and the round's outbox rows are still queued, and
otherwise writes nothing (engine/settle.py), and the round goes the usual way. That usual way
locks the row and reads it afresh, and uses the kept object only if the row still holds exactly the state
text it was saved as: any other writer in between (a user, the scheduler, a migration) changed it, and the
state is restored afresh.

Only one job holds an entry, for as long as that job runs: nothing is shared between jobs or threads.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


class KeptCall(NamedTuple):
    """A queued outbox row as the job knows it: what the journal row of its success needs."""

    operator: str
    task_spec: str
    attempts: int  # before this run


class Kept(NamedTuple):
    """What a job keeps of an instance it has read or just committed."""

    state: str  # the state text the job committed (or read)
    workflow: BpmnWorkflow | None  # the object it was dumped from (None: the job read the row, and restores it)
    instance: Any = None  # the instance's mapped object, and its column values as committed
    row: dict[str, Any] | None = None
    version: int | None = None  # the row's version after the commit (PostgreSQL), None when not known
    calls: dict[int, KeptCall] | None = None  # the instance's queued outbox rows as the job knows them, by id


class WarmWorkflows:
    """instance id -> what the job last read or committed of it."""

    def __init__(self) -> None:
        self._held: dict[int, Kept] = {}

    def take(self, instance_id: int, state: str) -> BpmnWorkflow | None:
        """The kept workflow if the locked row's `state` is still the one it was saved as, else None.

        Taken, not peeked: a round that fails after this leaves nothing behind that could be stale.
        """
        held = self._held.pop(instance_id, None)
        if held is None or held.state != state:
            return None
        return held.workflow

    def take_unlocked(self, instance_id: int, call_ids: list[int]) -> Kept | None:
        """What was kept, for a round that will not lock the row first: only if its version is known and
        every call is one of the outbox rows the job knows of (else nothing is taken)."""
        held = self._held.get(instance_id)
        if held is None or held.version is None or not held.calls or not set(call_ids) <= held.calls.keys():
            return None
        return self._held.pop(instance_id)

    def keep(self, instance_id: int, kept: Kept) -> None:
        """Remember what a job has just read or committed (call only after the commit)."""
        self._held[instance_id] = kept

    def __len__(self) -> int:
        return len(self._held)


def committed_row(obj: Any) -> dict[str, Any]:
    """The column values a loaded mapped object holds, to be put back by `reattach` without reading its row."""
    state = inspect(obj)
    return {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}


def reattach(session: Session, obj: Any, row: dict[str, Any]) -> Any:
    """The object of `obj`'s row in `session`, holding `row` as committed, without a SELECT: for a caller that
    checks by other means (a version gate) that the row still holds these values. That is `obj` itself unless
    the session has loaded the row into an object of its own meanwhile (an operator's read in the job's
    session), which then takes the values."""
    state = inspect(obj)
    target = obj if state.session is session else session.identity_map.get(state.key)
    if target is None:
        session.add(obj)  # detached: its identity is known, so it is persistent again, not new
        target = obj
    for key, value in row.items():
        set_committed_value(target, key, value)
    return target
