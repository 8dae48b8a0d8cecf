"""What the operations pages and API share: reading their input, listing, and doing each action once.

The page and the JSON API call the same functions here, so a supervisor's retry from the browser and
an integration's retry over the API are the same action with the same checks and journal rows. Input
errors are `DataValidationError` with the field (422), unknown ids `NotFound` (404) and a case that
cannot take the action (ended, already suspended) `Conflict` (409): web/api_errors.py turns each into
the API's error body or an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import aware, parse_iso, utcnow
from engine.control import InstanceControl
from engine.errors import DataValidationError, FieldError, NotFound
from engine.incidents import IncidentFilter, count_incidents, list_incidents, retry_incidents
from engine.models import ProcessInstance, Timer
from tasks.cases.cancellation import cancellation_notice
from tasks.cases.models.cases import Application
from tasks.cases.numbering import case_number_of
from tasks.documents.formatting import DOCUMENT_TZ

from ..services import services

REASON_MAX = 2000
PAGE_SIZE = 50
MAX_RETRY_IDS = 500
# The age filter of the incidents list: failed at least this long ago.
AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
AGE_LABELS = {"": "любой", "1h": "старше часа", "1d": "старше суток", "7d": "старше недели"}
RETRY_OUTCOMES = {"requeued": "Отправлен на повторное выполнение", "not_found": "Не найден",
                  "already_resolved": "Уже не инцидент: разрешён или отменён"}
CASE_ACTIONS = {"cancel": "Отменить заявление", "suspend": "Приостановить", "resume": "Возобновить"}
DONE_MESSAGES = {"cancel": "Заявление отменено.", "suspend": "Заявление приостановлено.",
                 "resume": "Заявление возобновлено.", "fire": "Срок наступил: таймер сработал.",
                 "reschedule": "Срок таймера перенесён."}


# ------------------------------------------------------------------------------ input
def reason_of(data: Any) -> str:
    """Every control action needs a reason: it goes to the journal with the person."""
    value = data.get("reason") if hasattr(data, "get") else None
    reason = value.strip() if isinstance(value, str) else ""
    if not reason:
        raise _invalid("reason", "required", "Укажите причину: она попадёт в журнал заявления.")
    if len(reason) > REASON_MAX:
        raise _invalid("reason", "too_long", f"Причина длиннее {REASON_MAX} символов.")
    return reason


def due_of(data: Any, *, page: bool) -> datetime:
    """The new due time: «ДД.ММ.ГГГГ ЧЧ:ММ» Moscow time on the page, an ISO date-time over the API."""
    value = data.get("due_at") if hasattr(data, "get") else None
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _invalid("due_at", "required", "Укажите новый срок.")
    try:
        if page:
            return datetime.strptime(text, "%d.%m.%Y %H:%M").replace(tzinfo=DOCUMENT_TZ)
        parsed = parse_iso(text)
    except ValueError:
        example = ("ДД.ММ.ГГГГ ЧЧ:ММ, например 31.12.2026 09:00" if page
                   else "ISO 8601, например 2026-12-31T09:00:00+03:00")
        raise _invalid("due_at", "format", f"Срок не распознан: нужен формат {example}.") from None
    if parsed.tzinfo is None:
        raise _invalid("due_at", "format", "Укажите часовой пояс, например 2026-12-31T09:00:00+03:00.")
    return parsed


def retry_ids_of(data: Any) -> list[int]:
    ids = data.getlist("ids") if hasattr(data, "getlist") else data.get("ids")  # a form, or a JSON object
    if not isinstance(ids, list) or not ids:
        raise _invalid("ids", "required", "Выберите хотя бы один инцидент.")
    if len(ids) > MAX_RETRY_IDS:
        raise _invalid("ids", "too_many", f"Не больше {MAX_RETRY_IDS} инцидентов за раз.")
    try:
        return [_int_id(i) for i in ids]
    except ValueError:
        raise _invalid("ids", "type", "Номера инцидентов должны быть целыми числами.") from None


def _int_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(value)
    return int(value)


def incident_filter(args: Any) -> tuple[IncidentFilter, dict[str, str]]:
    """The list's filter from the query string, and the values to show back in the form."""
    age = args.get("age", "") if args.get("age", "") in AGE_LABELS else ""
    chosen = {"operator": (args.get("operator") or "").strip(), "process": (args.get("process") or "").strip(),
              "age": age}
    return IncidentFilter(operator=chosen["operator"] or None, process_id=chosen["process"] or None,
                          older_than=utcnow() - AGES[age] if age else None), chosen


def case_of(args: Any) -> str | None:
    """The case number a list is narrowed to, as typed («А-2026-000123» reads as its case)."""
    text = (args.get("case") or "").strip()
    return case_number_of(text) if text else None


def page_number(args: Any) -> int:
    """The page asked for, 1 when absent or not a number; one beyond the request bound is a 400 (request_parsing)."""
    return max(1, args.get("page", 1, type=int) or 1)


def _invalid(field: str, code: str, message: str) -> DataValidationError:
    return DataValidationError(message, [FieldError(field, code, message)])


# ------------------------------------------------------------------------------ lists
def incidents_page(where: IncidentFilter, page: int) -> tuple[list[dict[str, Any]], int]:
    database = services().database
    total = count_incidents(database, where)
    rows = list_incidents(database, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, where=where)
    return [_incident_view(r) for r in rows], total


def _incident_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "case": row["business_key"], "process": row["process_id"], "task": row["task"],
            "operator": row["operator"], "attempts": row["attempts"], "error": row["error"],
            "since": row["since"].isoformat(), "age_seconds": int((utcnow() - row["since"]).total_seconds())}


@dataclass(frozen=True)
class TimerView:
    id: int
    case: str | None
    process: str
    element: str
    element_name: str
    due_at: datetime
    suspended: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "case": self.case, "process": self.process, "element": self.element,
                "element_name": self.element_name, "due_at": self.due_at.isoformat(), "suspended": self.suspended}


def timers_page(session: Session, page: int, case: str | None = None) -> tuple[list[TimerView], int]:
    """Waiting timers (of one case, when given), soonest first, named by their element in the instance's
    own version."""
    count = select(func.count()).select_from(Timer).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
    query = (select(Timer, ProcessInstance.business_key, ProcessInstance.process_id, ProcessInstance.version_id,
                    ProcessInstance.suspended_at).join(ProcessInstance, ProcessInstance.id == Timer.instance_id))
    if case:
        count = count.where(ProcessInstance.business_key == case)
        query = query.where(ProcessInstance.business_key == case)
    total = session.scalar(count) or 0
    rows = session.execute(query.order_by(Timer.due_at, Timer.id).limit(PAGE_SIZE)
                           .offset((page - 1) * PAGE_SIZE)).all()
    specs = services().runtime.specs
    names: dict[int, dict[str, str]] = {}
    views = []
    for timer, key, process, version_id, suspended in rows:
        if version_id not in names:
            names[version_id] = specs.element_names(session, version_id)
        views.append(TimerView(timer.id, key, process, timer.task_spec,
                               names[version_id].get(timer.task_spec) or timer.task_spec, aware(timer.due_at),
                               suspended is not None))
    return views, total


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# ------------------------------------------------------------------------------ actions
def retry(ids: list[int], actor: str) -> dict[int, str]:
    return retry_incidents(services().runtime, ids, actor)


def _control() -> InstanceControl:
    return InstanceControl(services().runtime)


def fire_timer(timer_id: int, actor: str, reason: str) -> None:
    _control().fire_timer(timer_id, actor, reason)


def reschedule_timer(timer_id: int, due_at: datetime, actor: str, reason: str) -> None:
    _control().reschedule_timer(timer_id, due_at, actor, reason)


def case_instance(session: Session, number: str) -> int:
    """The instance of the case `number` (404 for an unknown one, or one without an instance)."""
    instance_id = session.scalar(select(Application.instance_id).where(Application.number == number))
    if instance_id is None:
        raise NotFound(f"case {number} does not exist")
    return instance_id


def control_case(session: Session, number: str, action: str, actor: str, reason: str) -> str:
    """Cancel, suspend or resume the case; its status afterwards. A cancelled case's applicant is told."""
    instance_id = case_instance(session, number)
    control = _control()
    if action == "cancel":
        info = control.cancel(instance_id, actor, reason, then=[cancellation_notice(number, reason)])
    elif action == "suspend":
        info = control.suspend(instance_id, actor, reason)
    else:
        info = control.resume(instance_id, actor, reason)
    return info.status or "submitted"


def case_state(session: Session, number: str) -> dict[str, Any] | None:
    """What the staff case page needs to offer the control actions (None for an unknown case)."""
    row = session.execute(select(ProcessInstance.completed, ProcessInstance.suspended_at)
                          .join(Application, Application.instance_id == ProcessInstance.id)
                          .where(Application.number == number)).first()
    if row is None:
        return None
    return {"ended": bool(row.completed), "suspended": row.suspended_at is not None,
            "suspended_at": aware(row.suspended_at)}
