"""Operators' control of running instances: cancel, suspend and resume, fire or move a timer.

Each action runs under the instance lock like any other change (`Runtime._advance`) and is journaled
with the person and the reason, so the audit shows who stopped or moved a case and why.

Suspension is a flag on the instance, not a change of its state: the scheduler does not fire its
timers and the workers park its service calls (status `suspended`) instead of running them or
applying their results. Resuming re-queues the parked calls and delivers the messages held meanwhile
(engine/held_messages.py); timers that fell due meanwhile fire on the scheduler's next pass.
Cancelling cancels every open task of the workflow: the projections
close (human tasks cancelled, calls cancelled, timers and subscriptions gone) and the instance
ends with the status `cancelled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import held_messages, journal
from .clock import utcnow
from .errors import Conflict, NotFound
from .models import ProcessInstance, ServiceCall, Timer
from .runtime import InstanceInfo, Runtime, _info
from .unit_of_work import DetachedCall, UnitOfWork
from .waiting import timer_definition

CANCELLED = "cancelled"
# Calls that have not run yet (or will run again): parked while the instance is suspended.
WAITING_CALLS = ("queued", "retry_wait")


class InstanceControl:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # ------------------------------------------------------------- instance
    def cancel(self, instance_id: int, actor: str, reason: str,
               then: Sequence[DetachedCall] = ()) -> InstanceInfo:
        """End the instance now: every open task cancelled, nothing left to wait for.

        `then`: calls owed once it has ended (a notice), written to the outbox in the same transaction,
        so a crash right after the cancellation cannot lose them and an outage only delays them.
        """

        def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork) -> None:
            _running(inst)
            wf.cancel()
            uow.detached_calls.extend(then)
            dropped = held_messages.drop(s, inst.id)
            journal.record(s, inst.id, "instance_cancelled", actor=actor, message=reason,
                           details={"reason": reason, **({"held_messages": dropped} if dropped else {})})
            uow.statuses.append(CANCELLED)
            inst.suspended_at = None

        return self.runtime._advance(instance_id, action, actor)

    def suspend(self, instance_id: int, actor: str, reason: str) -> InstanceInfo:
        """Hold the instance: its timers and service calls wait until `resume`."""
        with self.runtime.db.session() as s:
            inst = self._locked(s, instance_id)
            _running(inst)
            if inst.suspended_at is not None:
                raise Conflict("the instance is already suspended")
            inst.suspended_at = utcnow()
            s.execute(update(ServiceCall).where(ServiceCall.instance_id == inst.id,
                                                ServiceCall.status.in_(WAITING_CALLS))
                      .values(status="suspended"))
            journal.record(s, inst.id, "instance_suspended", actor=actor, message=reason, details={"reason": reason})
            info = _info(inst)
        return info

    def resume(self, instance_id: int, actor: str, reason: str) -> InstanceInfo:
        """Lift the hold: parked calls are queued again, held messages delivered, overdue timers fire on the
        scheduler's next pass."""
        with self.runtime.db.session() as s:
            inst = self._locked(s, instance_id)
            if inst.suspended_at is None:
                raise Conflict("the instance is not suspended")
            inst.suspended_at = None
            parked = list(s.scalars(select(ServiceCall.id).where(ServiceCall.instance_id == inst.id,
                                                                 ServiceCall.status == "suspended")))
            journal.record(s, inst.id, "instance_resumed", actor=actor, message=reason,
                           details={"reason": reason, "calls": len(parked)})
            info = _info(inst)
        if parked:
            self.runtime.requeue_calls(parked, statuses=("suspended",))
        self.runtime.release_held_messages(instance_id)
        return info

    # ---------------------------------------------------------------- timers
    def fire_timer(self, timer_id: int, actor: str, reason: str) -> InstanceInfo:
        """Fire a waiting timer now, as if its due time had come."""
        row = self._timer(timer_id)

        def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork) -> None:
            task = self._waiting_task(inst, wf, row.task_guid)
            set_timer_due(task, utcnow() - timedelta(seconds=1))
            journal.record(s, inst.id, "timer_fired", actor=actor, task_spec=row.task_spec,
                           message=task.task_spec.bpmn_name, details={"reason": reason, "manual": True})
            wf.refresh_timers()
            wf.do_engine_steps()

        return self.runtime._advance(row.instance_id, action, actor)

    def reschedule_timer(self, timer_id: int, due_at: datetime, actor: str, reason: str) -> InstanceInfo:
        """Move a waiting timer to another due time (the scheduler reads the new one from its row)."""
        row = self._timer(timer_id)
        due_at = due_at.astimezone(UTC)  # stored as UTC: SQLite keeps no zone, so any other offset would shift it

        def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork) -> None:
            task = self._waiting_task(inst, wf, row.task_guid)
            set_timer_due(task, due_at)
            journal.record(s, inst.id, "timer_rescheduled", actor=actor, task_spec=row.task_spec,
                           message=task.task_spec.bpmn_name,
                           details={"reason": reason, "from": row.due_at.isoformat(), "to": due_at.isoformat()})
            if due_at <= utcnow():
                wf.refresh_timers()
                wf.do_engine_steps()

        return self.runtime._advance(row.instance_id, action, actor)

    # ------------------------------------------------------------- internals
    def _locked(self, s: Session, instance_id: int) -> ProcessInstance:
        inst = self.runtime._lock(s, instance_id)
        if inst is None:
            raise NotFound(f"instance {instance_id} does not exist")
        return inst

    def _timer(self, timer_id: int) -> Timer:
        with self.runtime.db.session() as s:
            row = s.get(Timer, timer_id)
            if row is None:
                raise NotFound(f"timer {timer_id} does not exist")
            s.expunge(row)
        return row

    @staticmethod
    def _waiting_task(inst: ProcessInstance, wf: BpmnWorkflow, task_guid: str) -> Any:
        _running(inst)
        if inst.suspended_at is not None:
            raise Conflict("the instance is suspended: resume it first")
        task = wf.get_task_from_id(UUID(task_guid))
        if task is None or timer_definition(task) is None or task.state != TaskState.WAITING:
            raise Conflict("the timer no longer waits")
        return task


def set_timer_due(task: Any, due_at: datetime) -> None:
    """Point a waiting timer at `due_at` (a cycle: its next repetition) in the task's own state,
    where SpiffWorkflow reads it when timers are refreshed."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # a cycle timer: {cycles, next, duration}
        value["next"] = due_at.isoformat()
    else:
        task.internal_data["event_value"] = due_at.isoformat()
    task.internal_data.pop("event_fired", None)


def _running(inst: ProcessInstance) -> None:
    if inst.completed:
        raise Conflict("the instance has already ended")

