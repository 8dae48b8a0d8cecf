"""Writes the difference between two projection snapshots of one instance.

`ProcessInstance.projection` remembers what was derived at the last save (human task ids, service
call ids, timer due times, message names), so a save touches only rows that change and needs no
extra SELECTs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import journal, pending_rows
from .clock import utcnow
from .models import HumanTask, MessageSubscription, ProcessInstance, ServiceCall, Timer
from .projection import HumanTaskView, Snapshot

_CALLS = ServiceCall.__table__


class NewCall:
    """An outbox row this transaction inserts (engine.pending_rows): its id is set once the row is written,
    before the commit. What the runtime reads of a new row to dispatch it or run it inline."""

    __slots__ = ("id", "instance_id", "job_id", "operator", "params", "task_guid", "task_spec")

    def __init__(self, instance_id: int, task_guid: str, task_spec: str, operator: str, params: dict[str, Any],
                 job_id: str | None) -> None:
        self.id: int | None = None
        self.instance_id, self.task_guid, self.operator, self.params = instance_id, task_guid, operator, params
        self.task_spec, self.job_id = task_spec, job_id

    def _written(self, row_id: int) -> None:
        self.id = row_id


def insert_call(s: Session, instance_id: int, task_guid: str, task_spec: str, operator: str,
                params: dict[str, Any], job_id: str | None, now: datetime) -> NewCall:
    """A new «queued» outbox row, stamped with the job that will run it (`job_id`, if known already)."""
    call = NewCall(instance_id, task_guid, task_spec, operator, params, job_id)
    pending_rows.add(s, _CALLS, {
        "instance_id": instance_id, "task_guid": task_guid, "task_spec": task_spec, "operator": operator,
        "params": params, "status": "queued", "attempts": 0, "created_at": now, "job_id": job_id,
        "dispatched_at": now if job_id else None, "next_attempt_at": None, "last_error": None,
        "finished_at": None}, on_id=call._written)
    return call


class ProjectionWriter:
    def __init__(self, session: Session, inst: ProcessInstance, lane_roles: dict[str, str],
                 actor: str | None, job_id: str | None = None, settled: set[str] | None = None) -> None:
        self.s = session
        self.job_id = job_id  # stamped on new outbox rows before their INSERT, saving an UPDATE
        self.settled = settled or set()  # outbox rows the caller already finished with a direct UPDATE
        self.inst = inst
        self.lane_roles = lane_roles
        self.actor = actor
        self.old = inst.projection or {}

    def apply(self, snap: Snapshot) -> tuple[dict[str, Any], list[NewCall]]:
        """Sync all projections; returns the instance's new projection (for the caller to store with the
        state) and the new outbox rows (pending: their ids exist once written, before the commit)."""
        human = self._human(snap)
        timers = self._timers(snap)
        messages = self._messages(snap)
        # Last: the statements above would write the new outbox rows ahead of the commit's one statement
        # (engine.pending_rows writes them before any statement of the transaction).
        calls, new_calls = self._calls(snap)
        return {"human": human, "calls": calls, "timers": timers, "messages": messages}, new_calls

    def _human(self, snap: Snapshot) -> dict[str, int]:
        old: dict[str, int] = self.old.get("human", {})
        gone = [hid for guid, hid in old.items() if guid not in snap.human]
        if gone:
            # Completed tasks were already marked by complete_user_task; the rest were interrupted.
            self.s.execute(update(HumanTask).where(HumanTask.id.in_(gone), HumanTask.status == "open")
                           .values(status="cancelled", completed_at=utcnow()))
            for hid in gone:
                ht = self.s.get(HumanTask, hid)
                if ht is not None and ht.status == "cancelled":
                    journal.record(self.s, self.inst.id, "task_cancelled", actor=self.actor,
                                   task_spec=ht.spec_name, message=ht.title)
        result = {guid: hid for guid, hid in old.items() if guid in snap.human}
        now = utcnow()
        for guid, view in snap.human.items():
            if guid in result:
                continue
            ht = HumanTask(
                instance_id=self.inst.id, task_guid=guid, spec_name=view.spec_name, title=view.title,
                lane=view.lane, role=self.lane_roles.get(view.lane or ""), form_schema=view.form_schema,
                form_ui=view.form_ui, instructions=view.instructions, created_at=now, due_at=view.due_at,
                status="open", assignee=self._completer_of(view),
            )
            self.s.add(ht)
            self.s.flush()
            result[guid] = ht.id
            journal.record(self.s, self.inst.id, "task_ready", actor=self.actor, task_spec=view.spec_name,
                           message=view.title, details={"lane": view.lane, "role": ht.role})
            if ht.assignee is not None:
                journal.record(self.s, self.inst.id, "task_assigned", actor="engine", task_spec=view.spec_name,
                               details={"assignee": ht.assignee, "completer_of": view.completer_of})
        return result

    def _completer_of(self, view: HumanTaskView) -> str | None:
        """Who last completed the task the diagram names in `assignToCompleterOf` (None: the lane's queue)."""
        if not view.completer_of:
            return None
        return self.s.scalar(select(HumanTask.completed_by)
                             .where(HumanTask.instance_id == self.inst.id, HumanTask.spec_name == view.completer_of,
                                    HumanTask.status == "completed", HumanTask.completed_by.is_not(None))
                             .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))

    def _calls(self, snap: Snapshot) -> tuple[list[str], list[NewCall]]:
        """Outbox rows by task guid; new rows go out with the transaction's other pending rows (on
        PostgreSQL in its one statement), which hands each its id."""
        old = list(self.old.get("calls", []))  # guids (older rows stored a {guid: id} map)
        gone = [guid for guid in old if guid not in snap.service]
        open_gone = sorted(set(gone) - self._settled_guids())
        if open_gone:
            open_statuses = ("queued", "retry_wait", "suspended", "incident")
            self.s.execute(update(ServiceCall).where(ServiceCall.instance_id == self.inst.id,
                                                     ServiceCall.task_guid.in_(open_gone),
                                                     ServiceCall.status.in_(open_statuses))
                           .values(status="cancelled", finished_at=utcnow()))
        result = [guid for guid in old if guid in snap.service]
        new: list[NewCall] = []
        now = utcnow()
        for guid, view in snap.service.items():
            if guid in result:
                continue
            new.append(insert_call(self.s, self.inst.id, guid, view.spec_name, view.operator, view.params,
                                   self.job_id, now))
            result.append(guid)
        return result, new

    def _settled_guids(self) -> set[str]:
        """Calls this transaction already finished (the usual case: the result was just applied), so
        no cancelling UPDATE is needed for them; anything else is left to the UPDATE's own filter."""
        return self.settled | {obj.task_guid for obj in self.s.identity_map.values()
                               if isinstance(obj, ServiceCall) and obj.instance_id == self.inst.id
                               and obj.status in ("done", "failed", "cancelled")}

    def _timers(self, snap: Snapshot) -> dict[str, str]:
        old: dict[str, str] = self.old.get("timers", {})
        current = {guid: view.due_at.isoformat() for guid, view in snap.timers.items()}
        changed = [g for g in old if old[g] != current.get(g)]
        if changed:
            self.s.execute(delete(Timer).where(Timer.instance_id == self.inst.id, Timer.task_guid.in_(changed)))
        for guid, due in current.items():
            if old.get(guid) != due:
                view = snap.timers[guid]
                self.s.add(Timer(instance_id=self.inst.id, task_guid=guid, task_spec=view.spec_name,
                                 due_at=view.due_at))
        return current

    def _messages(self, snap: Snapshot) -> list[str]:
        old = set(self.old.get("messages", []))
        gone = old - snap.messages
        if gone:
            self.s.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == self.inst.id,
                                                             MessageSubscription.message_name.in_(gone)))
        for name in sorted(snap.messages - old):
            self.s.add(MessageSubscription(instance_id=self.inst.id, message_name=name,
                                           correlation=self.inst.business_key))
        return sorted(snap.messages)
