"""Messages that reach a suspended instance wait in `held_message` until it is resumed.

A suspended instance must not move (engine/control.py): its timers and service calls wait, and so does
a message sent to it, e.g. an applicant's answer. The sender is told it arrived: it is checked against
what the instance waits for now, exactly as a delivery would be, and a second one of the same name is
refused as a delivery would refuse it (the first would have consumed the subscription). On resume the
runtime delivers the held messages in the order they came.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import journal
from .clock import utcnow
from .db import Database
from .errors import UndeliverableMessage
from .models import HeldMessage
from .waiting import message_definition


def hold(s: Session, instance_id: int, wf: BpmnWorkflow, name: str, payload: dict[str, Any] | None,
         actor: str | None) -> None:
    """Keep the message for the resume; refused (UndeliverableMessage) as its delivery would be."""
    if not any(message_definition(t, name) is not None for t in wf.event_manager.tasks.values()):
        raise UndeliverableMessage(f"instance {instance_id} no longer waits for message {name!r}")
    if s.scalar(select(HeldMessage.id).where(HeldMessage.instance_id == instance_id,
                                             HeldMessage.message_name == name)) is not None:
        raise UndeliverableMessage(f"instance {instance_id} already holds message {name!r}")
    s.add(HeldMessage(instance_id=instance_id, message_name=name, payload=dict(payload or {}), actor=actor,
                      received_at=utcnow()))
    journal.record(s, instance_id, "message_held", actor=actor, message=name)


def waiting(db: Database, instance_id: int) -> list[int]:
    """The ids of the instance's held messages, in arrival order."""
    with db.session() as s:
        return list(s.scalars(select(HeldMessage.id).where(HeldMessage.instance_id == instance_id)
                              .order_by(HeldMessage.id)))


def take(s: Session, message_id: int) -> HeldMessage | None:
    """Remove a held message to deliver it (None when a concurrent resume already took it)."""
    message = s.get(HeldMessage, message_id, with_for_update=True)
    if message is not None:
        s.delete(message)
    return message


def drop(s: Session, instance_id: int) -> int:
    """Forget an ended instance's held messages (nothing will ever wait for them); how many there were."""
    return s.execute(delete(HeldMessage).where(HeldMessage.instance_id == instance_id)).rowcount or 0
