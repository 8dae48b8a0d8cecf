"""Writes the difference between two projection snapshots of one instance.

`ProcessInstance.projection` remembers what was derived at the last save (human task ids, service
call ids, timer due times, message names), so a save touches only rows that change and needs no
extra SELECTs.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from . import journal
from .clock import utcnow
from .models import HumanTask, MessageSubscription, ProcessInstance, ServiceCall, Timer
from .projection import Snapshot


class ProjectionWriter:
    def __init__(self, session: Session, inst: ProcessInstance, lane_roles: dict[str, str],
                 actor: str | None) -> None:
        self.s = session
        self.inst = inst
        self.lane_roles = lane_roles
        self.actor = actor
        self.old = inst.projection or {}

    def apply(self, snap: Snapshot) -> list[ServiceCall]:
        """Sync all projections; returns the new outbox rows (flushed, with ids)."""
        human = self._human(snap)
        calls, new_calls = self._calls(snap)
        timers = self._timers(snap)
        messages = self._messages(snap)
        self.inst.projection = {"human": human, "calls": calls, "timers": timers, "messages": messages}
        return new_calls

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
                status="open",
            )
            self.s.add(ht)
            self.s.flush()
            result[guid] = ht.id
            journal.record(self.s, self.inst.id, "task_ready", actor=self.actor, task_spec=view.spec_name,
                           message=view.title, details={"lane": view.lane, "role": ht.role})
        return result

    def _calls(self, snap: Snapshot) -> tuple[dict[str, int], list[ServiceCall]]:
        old: dict[str, int] = self.old.get("calls", {})
        gone = [cid for guid, cid in old.items() if guid not in snap.service]
        if gone:
            self.s.execute(update(ServiceCall).where(ServiceCall.id.in_(gone),
                                                     ServiceCall.status.in_(("queued", "retry_wait", "incident")))
                           .values(status="cancelled", finished_at=utcnow()))
        result = {guid: cid for guid, cid in old.items() if guid in snap.service}
        new: list[ServiceCall] = []
        now = utcnow()
        for guid, view in snap.service.items():
            if guid in result:
                continue
            call = ServiceCall(instance_id=self.inst.id, task_guid=guid, task_spec=view.spec_name,
                               operator=view.operator, params=view.params, status="queued", attempts=0,
                               created_at=now)
            self.s.add(call)
            new.append(call)
        if new:
            self.s.flush()
            result.update({c.task_guid: c.id for c in new})
        return result, new

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
