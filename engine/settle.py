"""Finishing the outbox rows of a round's successes in one statement, together with the instance lock.

A job usually brings back several results for one instance at once (a case's first job: three registry
checks and a notice). Each success finishes its outbox row only if the row is still queued, so a job run
twice (after a SIGKILL or a Redis flush) changes nothing the second time. One UPDATE ... WHERE id IN (...)
AND status = 'queued' RETURNING does that for all of them: per row it is the same condition and the same
change as one statement per row, in one round trip, under the instance lock.

On PostgreSQL that UPDATE rides in the statement that takes the lock (`lock_finishing`): a round is then the
lock, the save and the commit. The lock comes first: the UPDATE is gated by a one-time check on the locked
row (an InitPlan, evaluated before service_call is scanned), so the instance is locked before any outbox row,
the order every other writer of an instance follows. A row changed by another transaction while this one
waited for the lock is re-checked by PostgreSQL against `status = 'queued'` on its newest version. A
suspended instance finishes nothing: its calls are parked to run again on resume.

A job's round on an instance whose row it has read or just committed (engine/warm.py) need not even take the
lock first (`finish_if_unchanged`): the lock and the UPDATE ride as a gate in the save's own statement
(engine/pending_rows.py), the lock taken only if the row is still the version the job knows, the rows
finished only if every one is still queued with the attempts the job knows of. Any other writer in between
fails the gate, nothing of the round is kept, and the round goes the usual way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import ARRAY, BigInteger, ColumnElement, Integer, Update, any_, bindparam, exists, select, true, update
from sqlalchemy.orm import Session, aliased

from . import pending_rows
from .clock import utcnow
from .models import ProcessInstance, ServiceCall

_CALLS = ServiceCall.__table__  # plain Core: the ORM's bulk-UPDATE machinery costs more than it saves
_INSTANCES = ProcessInstance.__table__
# The instance's row, locked and read afresh: built once, as every change of an instance starts with it.
LOCK = (select(ProcessInstance).where(ProcessInstance.id == bindparam("lock_id")).with_for_update()
        .execution_options(populate_existing=True))


# Outbox rows looked up by id that must still be queued. IS TRUE keeps the status out of the index conditions:
# with statistics that show few queued rows (a fresh table, or a quiet one before a burst) the planner would
# otherwise scan every queued row by the status index and filter the ids, instead of fetching the ids by the
# primary key - a scan of the whole backlog per round, just when the backlog is long.
STILL_QUEUED = (_CALLS.c.status == "queued").is_(True)


def _finish(ids: ColumnElement[bool], *guard: ColumnElement[bool]) -> Update:
    # The lock's parameter is "lock_id": an UPDATE takes a parameter named like one of its table's columns
    # ("id") as a value to SET.
    return (update(_CALLS)
            .where(ids, STILL_QUEUED, *guard)
            .values(status="done", attempts=_CALLS.c.attempts + 1,
                    finished_at=bindparam("now", type_=_CALLS.c.finished_at.type), last_error=None)
            .returning(_CALLS.c.id, _CALLS.c.attempts, _CALLS.c.operator, _CALLS.c.task_spec))


# Built once: constructing them costs a third of what executing them does.
_FINISH = _finish(_CALLS.c.id.in_(bindparam("ids", expanding=True)))
_LOCKED = select(_INSTANCES).where(_INSTANCES.c.id == bindparam("lock_id")).with_for_update().cte("locked")
# = ANY(array) rather than an expanding IN: the statement's text is the same for any number of calls, so
# it is not rendered again per execution and the driver's prepared statement serves every round.
_FINISHED = _finish(_CALLS.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))),
                    exists(select(_LOCKED.c.id).where(_LOCKED.c.suspended_at.is_(None)))).cte("finished")
_LOCK_FINISH = (select(aliased(ProcessInstance, _LOCKED), _FINISHED.c.id, _FINISHED.c.attempts, _FINISHED.c.operator,
                       _FINISHED.c.task_spec)
                .select_from(_LOCKED).outerjoin(_FINISHED, true())
                .execution_options(populate_existing=True))


# The same lock and the same change of the rows as `_LOCK_FINISH` (the ids by the primary key, STILL_QUEUED),
# gated on the row's version: written as PostgreSQL text because it goes into the text statement of the
# save's rows.
_UNCHANGED_GATE = pending_rows.GateSql(
    ctes=("gate_held AS (SELECT id FROM process_instance WHERE id = :g_id AND xmin::text::bigint = :g_version "
          "AND suspended_at IS NULL FOR UPDATE), "
          "gate_finished AS (UPDATE service_call SET status = 'done', attempts = attempts + 1, "
          "finished_at = :g_now, last_error = NULL WHERE id = ANY(:g_ids) "
          "AND (id, attempts) IN (SELECT * FROM unnest(:g_ids, :g_attempts)) "
          "AND (status = 'queued') IS TRUE AND EXISTS (SELECT 1 FROM gate_held) RETURNING id)"),
    value=("SELECT CASE WHEN count(*) = :g_expected THEN count(*) "
           "ELSE engine_gate_refused('the instance or its outbox rows changed') END FROM gate_finished"),
    binds=(bindparam("g_id", type_=BigInteger), bindparam("g_version", type_=BigInteger),
           bindparam("g_ids", type_=ARRAY(BigInteger)), bindparam("g_attempts", type_=ARRAY(Integer)),
           bindparam("g_now", type_=_CALLS.c.finished_at.type), bindparam("g_expected", type_=Integer)))


class StaleInstance(Exception):
    """The workflow a round kept is not waiting for the round's results (its gate was not even tried)."""


class FinishedCall(NamedTuple):
    """What the journal row of a finished call needs, as the UPDATE returned it."""

    attempts: int
    operator: str
    task_spec: str


def lock_instance(s: Session, instance_id: int) -> ProcessInstance | None:
    """Lock the instance's row for this transaction and read it afresh (None: no such instance)."""
    return s.scalar(LOCK, {"lock_id": instance_id})


def lock_finishing(s: Session, instance_id: int, call_ids: Sequence[int]
                   ) -> tuple[ProcessInstance | None, dict[int, FinishedCall | None]]:
    """Lock the instance and mark «done» the rows of these successes; call id -> the row as finished, or None
    when it was no longer queued (another run of the job finished it). Nothing is finished for an instance
    that is gone or suspended. A row whose task turns out not to be STARTED is undone by `cancel_finished`."""
    if not call_ids:
        return lock_instance(s, instance_id), {}
    if s.get_bind().dialect.name != "postgresql":  # SQLite: no data-modifying CTE; BEGIN IMMEDIATE locks
        inst = lock_instance(s, instance_id)
        if inst is None or inst.suspended_at is not None:
            return inst, {}
        return inst, _finished(call_ids, s.execute(_FINISH, {"ids": list(call_ids), "now": utcnow()}).all())
    rows = s.execute(_LOCK_FINISH, {"lock_id": instance_id, "ids": list(call_ids), "now": utcnow()}).all()
    if not rows:
        return None, {}
    inst = rows[0][0]
    if inst.suspended_at is not None:
        return inst, {}
    return inst, _finished(call_ids, [row[1:] for row in rows if row[1] is not None])


def finish_if_unchanged(s: Session, instance_id: int, version: int, attempts: dict[int, int]) -> None:
    """Lock the instance and mark «done» these rows (call id -> attempts so far) with the transaction's first
    write (PostgreSQL), if the row is still `version`, not suspended, and every row is still queued with those
    attempts; otherwise that write raises pending_rows.GateRefused and nothing of the transaction is kept."""
    pending_rows.gate(s, _UNCHANGED_GATE, {"g_id": instance_id, "g_version": version, "g_ids": list(attempts),
                                           "g_attempts": list(attempts.values()), "g_now": utcnow(),
                                           "g_expected": len(attempts)})


def _finished(call_ids: Sequence[int], rows: Sequence[Sequence]) -> dict[int, FinishedCall | None]:
    finished: dict[int, FinishedCall | None] = dict.fromkeys(call_ids)
    finished.update({call_id: FinishedCall(attempts, operator, task_spec)
                     for call_id, attempts, operator, task_spec in rows})
    return finished


def cancel_finished(s: Session, call_id: int) -> None:
    """Undo `lock_finishing` for a row whose task is not STARTED (an earlier result of the same round ended it,
    or it had ended before the round): such a row is cancelled, its attempt not counted, as a result for a
    task no longer STARTED always is."""
    s.execute(update(_CALLS).where(_CALLS.c.id == call_id)
              .values(status="cancelled", attempts=_CALLS.c.attempts - 1, finished_at=utcnow()))
