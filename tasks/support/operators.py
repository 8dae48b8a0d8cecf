"""Service-task operators of workflows/support_request.bpmn: record and send an answer, remind the staff."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.context import get_services
from engine.models import HumanTask
from engine.operators import OperatorError, current_call_id, operator, tune_operator
from tasks.accounts.models import User
from tasks.accounts.roles import SUPPORT
from tasks.cases.notice_delivery import DeliveryFailed, Recipient, applicant, deliver, recipient
from tasks.cases.operators.certificates import app_config
from tasks.config import MAIL_RETRY, AppConfig

from . import notices
from .models import SupportMessage
from .requests import add_message, find_request

log = logging.getLogger(__name__)

def configure(config: AppConfig) -> None:
    """The configuration's mail retries for the answer and the reminder."""
    for name in ("support.reply", "support.remind"):
        tune_operator(name, retry=config.mail_retry)


ANSWER_TASKS = ("support_reply", "support_escalated")
DECISIONS = ("reply", "ask", "close")


@operator("support.reply", retry=MAIL_RETRY, on_exhausted="incident", timeout=60)
def reply(number: str, decision: str, text: str, reply_until: str) -> dict[str, Any]:
    """Put the specialist's answer into the request's thread (once, however often the job runs) and send it
    to the citizen in the portal, by e-mail and, if they opted in, by SMS."""
    if decision not in DECISIONS:
        raise OperatorError("bad_decision", f"unknown decision {decision!r}", retryable=False)
    db = get_services().database
    key = f"call:{current_call_id()}" if current_call_id() is not None else None
    with db.session() as s:
        request = find_request(s, number)
        if request is None:
            raise OperatorError("unknown_request", f"support request {number} does not exist", retryable=False)
        if key is None or s.scalar(select(SupportMessage.id).where(SupportMessage.dedup_key == key)) is None:
            add_message(s, request, _answered_by(s, request.instance_id), decision, text, (), utcnow(), dedup_key=key)
        who = applicant(s, request.owner_id)
        instance_id = request.instance_id
    notice = notices.render(app_config(), "reply", number=number, name=who.name, decision=decision, text=text,
                            reply_until=reply_until)
    try:
        deliver(db, app_config(), call_id=current_call_id(), who=who, notice=notice, number=number,
                instance_id=instance_id)
    except DeliveryFailed as exc:
        raise OperatorError(exc.code, str(exc)) from exc
    return {"sent_to": who.email, "decision": decision}


@operator("support.remind", retry=MAIL_RETRY, on_exhausted="incident", timeout=60)
def remind(number: str, due_date: str) -> dict[str, Any]:
    """Remind the support staff that a request's answer is due: the specialist who took it, else all of them."""
    db = get_services().database
    with db.session() as s:
        request = find_request(s, number)
        if request is None:
            raise OperatorError("unknown_request", f"support request {number} does not exist", retryable=False)
        staff = _reminded(s, request.instance_id)
        instance_id = request.instance_id
    sent = []
    for who in staff:
        notice = notices.render(app_config(), "reminder", number=number, name=who.name, due_date=due_date)
        try:
            deliver(db, app_config(), call_id=current_call_id(), who=who, notice=notice, number=number,
                    instance_id=instance_id)
        except DeliveryFailed as exc:
            raise OperatorError(exc.code, str(exc)) from exc
        sent.append(who.email)
    if not staff:
        log.warning("support request %s: nobody to remind (no active support staff)", number)
    return {"sent_to": sent}


def _answered_by(s: Session, instance_id: int | None) -> int | None:
    """The staff member who completed the latest answer task of the request (the author of the reply)."""
    actor = s.scalar(select(HumanTask.completed_by).where(
        HumanTask.instance_id == instance_id, HumanTask.spec_name.in_(ANSWER_TASKS), HumanTask.status == "completed")
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))
    if actor and actor.startswith("user:") and actor[5:].isdigit():
        return int(actor[5:])
    return None


def _reminded(s: Session, instance_id: int | None) -> list[Recipient]:
    assignee = s.scalar(select(HumanTask.assignee).where(
        HumanTask.instance_id == instance_id, HumanTask.spec_name.in_(ANSWER_TASKS), HumanTask.status == "open"))
    query = select(User).where(User.is_active.is_(True))
    if assignee and assignee.startswith("user:") and assignee[5:].isdigit():
        query = query.where(User.id == int(assignee[5:]))
    else:
        query = query.where(User.role == SUPPORT)
    return [recipient(u, citizen=False) for u in s.scalars(query.order_by(User.id))]
