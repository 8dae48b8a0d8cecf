"""What a citizen may do with a case right now: resubmit, appeal, answer a request.

The process decides, not this module: an action is offered only while the case's BPMN instance waits
for the message that carries it (its message subscriptions), within the reply deadline the diagram set
(``reply_until``, computed with ``sla("info_wait")``). So a new route in the diagram needs no change here,
and a request that arrives a moment after the deadline is refused even if the timer has not fired yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import parse_iso, utcnow
from engine.models import MessageSubscription
from tasks.documents.formatting import format_date

from .models.cases import Application
from .terms import sla_term

RESUBMIT_MESSAGE = "application_updated"
APPEAL_MESSAGE = "appeal_filed"
ANSWER_MESSAGE = "appeal_info_answered"

# action -> (message the instance must wait for, statuses in which it is offered)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "resubmit": (RESUBMIT_MESSAGE, ("rejected", "needs_info")),
    "appeal": (APPEAL_MESSAGE, ("rejected",)),
    "answer": (ANSWER_MESSAGE, ("appealed",)),
}

# The Russian message of a refused action (409), by what went wrong; {term} is the reply term (info_wait).
REFUSALS = {
    "resubmit": "Повторно подать заявление можно только после отказа или запроса уточнения, в течение {term}.",
    "appeal": "Обжаловать можно только отказ, в течение {term} после решения.",
    "answer": "Ответить можно только на запрос сведений по жалобе.",
}
REPLY_TERM = "info_wait"  # the SLA of reply_until, the diagram's deadline for a resubmission or an appeal
EXPIRED = "Срок истёк {date}: заявление закрыто или будет закрыто. Подайте новое заявление."


class ActionRefused(Exception):
    """The case does not allow this action now; ``message`` is for people (HTTP 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CaseState:
    """The facts an action depends on, read once per request."""

    status: str
    waiting: frozenset[str]
    reply_until: datetime | None


def waiting_messages(session: Session, app: Application) -> frozenset[str]:
    """Names of the BPMN messages the case's instance waits for (the engine's message subscriptions)."""
    if not app.instance_id:
        return frozenset()
    return frozenset(session.scalars(select(MessageSubscription.message_name)
                                     .where(MessageSubscription.instance_id == app.instance_id)))


def reply_deadline(data: dict[str, Any]) -> datetime | None:
    """The deadline the diagram set for the citizen's reply (``reply_until``), if any."""
    value = data.get("reply_until")
    return parse_iso(value) if isinstance(value, str) and value else None


def allowed_actions(state: CaseState, now: datetime | None = None) -> list[str]:
    """The citizen's actions in the order the case page shows them."""
    now = now or utcnow()
    in_time = state.reply_until is None or now <= state.reply_until
    result = []
    for action, (message, statuses) in ACTIONS.items():
        if message in state.waiting and state.status in statuses and in_time:
            result.append(action)
    return result


def require(action: str, state: CaseState, now: datetime | None = None) -> None:
    """Raise ActionRefused with a Russian message unless ``action`` is allowed now."""
    if action in allowed_actions(state, now):
        return
    message, statuses = ACTIONS[action]
    if message in state.waiting and state.status in statuses and state.reply_until is not None:
        raise ActionRefused("deadline_passed", EXPIRED.format(date=format_date(state.reply_until)))
    raise ActionRefused("not_allowed", refusal_message(action))


def refusal_message(action: str) -> str:
    """Why ``action`` is not offered, with the reply term the diagram gives (from the SLA catalogue)."""
    return REFUSALS[action].format(term=sla_term(REPLY_TERM))
