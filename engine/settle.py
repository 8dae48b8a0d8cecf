"""Finishing the outbox rows of a round's successes in one statement.

A job usually brings back several results for one instance at once (a case's first job: three registry
checks and a notice). Each success finishes its outbox row only if the row is still queued, so a job run
twice (after a SIGKILL or a Redis flush) changes nothing the second time. One UPDATE ... WHERE id IN (...)
AND status = 'queued' RETURNING does that for all of them: per row it is the same condition and the same
change as one statement per row, in one round trip, under the instance lock the caller holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import ServiceCall

_CALLS = ServiceCall.__table__  # plain Core: the ORM's bulk-UPDATE machinery costs more than it saves
# Built once: constructing it costs a third of what executing it does.
_FINISH = (update(_CALLS)
           .where(_CALLS.c.id.in_(bindparam("ids", expanding=True)), _CALLS.c.status == "queued")
           .values(status="done", attempts=_CALLS.c.attempts + 1,
                   finished_at=bindparam("now", type_=_CALLS.c.finished_at.type), last_error=None)
           .returning(_CALLS.c.id, _CALLS.c.attempts, _CALLS.c.operator, _CALLS.c.task_spec))


class _Outcome(Protocol):
    call_id: int
    ok: bool
    task_guid: str | None


class FinishedCall(NamedTuple):
    """What the journal row of a finished call needs, as the UPDATE returned it."""

    attempts: int
    operator: str
    task_spec: str


def finish_successes(s: Session, wf: BpmnWorkflow, outcomes: Sequence[_Outcome]) -> dict[int, FinishedCall | None]:
    """Mark «done» the rows of the successes whose tasks are STARTED; call id -> the row, or None when it was
    no longer queued (another run of the job finished it). Outcomes left out (failures, tasks in another
    state, rows read by guid) are for the caller's row-by-row path."""
    ids = [o.call_id for o in outcomes if _started(wf, o)]
    if not ids:
        return {}
    rows = s.execute(_FINISH, {"ids": ids, "now": utcnow()}).all()
    finished: dict[int, FinishedCall | None] = dict.fromkeys(ids)
    finished.update({r.id: FinishedCall(r.attempts, r.operator, r.task_spec) for r in rows})
    return finished


def cancel_finished(s: Session, call_id: int) -> None:
    """Undo `finish_successes` for a row whose task an earlier result of the same round ended: such a row is
    cancelled, its attempt not counted, as the row-by-row path treats a result for a task no longer STARTED."""
    s.execute(update(_CALLS).where(_CALLS.c.id == call_id)
              .values(status="cancelled", attempts=_CALLS.c.attempts - 1, finished_at=utcnow()))


def _started(wf: BpmnWorkflow, out: _Outcome) -> bool:
    if not out.ok or out.task_guid is None:
        return False
    task: Any = wf.get_task_from_id(UUID(out.task_guid))
    return task is not None and task.state == TaskState.STARTED
