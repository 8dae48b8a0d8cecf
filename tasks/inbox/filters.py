"""What a staff member asked the inbox for: queue, filters, sort and page, parsed once for the API and pages.

The page and `GET /api/v1/tasks` read the same query string (a saved filter is that query string
too), so a filter means the same everywhere. Bad values are reported per field in Russian
(`InvalidFilter`), never silently dropped: a supervisor who typed a wrong date must not believe the
list is complete. Dates are accepted as ISO `ГГГГ-ММ-ДД` (API) or `ДД.ММ.ГГГГ` (pages) and are
Moscow calendar days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from engine.errors import FieldError
from engine.sla_state import SLA_STATES
from forms.dates import MOSCOW, format_ru_date, parse_iso_date, parse_ru_date
from forms.identifiers import strip_separators
from tasks.accounts.roles import ADMIN, ROLES, SUPERVISOR
from tasks.cases.numbering import case_number_of
from tasks.support.labels import request_number_of

QUEUES: tuple[str, ...] = ("mine", "group", "all")
QUEUE_LABELS = {"mine": "Мои задачи", "group": "Задачи группы", "all": "Все"}
SEE_ALL: tuple[str, ...] = (SUPERVISOR, ADMIN)
STATUSES: dict[str, str] = {"open": "Открытые", "completed": "Выполненные"}
SORTS: dict[str, str] = {"due": "Срок: сначала ранние", "-due": "Срок: сначала поздние",
                         "received": "Поступление: сначала ранние", "-received": "Поступление: сначала новые"}
PAGE_SIZE = 50
MAX_LIMIT = 200
MAX_QUERY = 100
CASE_NUMBER = re.compile(r"^\d{4}-\d{1,6}$")


class InvalidFilter(ValueError):
    """Filter values that cannot be applied, each with its field and a Russian message."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.message}" for f in fields))
        self.fields = fields


@dataclass(frozen=True)
class Search:
    """What `q` looks for: a case number (whole or its beginning), a support request's number (whole, «О-…»),
    an 11-digit СНИЛС or the beginning of the ФИО."""

    kind: str  # number | request | snils | name
    value: str


@dataclass(frozen=True)
class TaskFilter:
    queue: str = "group"
    role: str | None = None
    task: str | None = None  # spec name of the user task (operator_review, ...)
    sla: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    status: str = "open"
    q: str | None = None
    sort: str = "due"
    limit: int = PAGE_SIZE
    offset: int = 0

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def search(self) -> Search | None:
        return parse_search(self.q) if self.q else None

    def due_bounds(self) -> tuple[datetime | None, datetime | None]:
        """UTC bounds [from, to) of the due-date range, whole Moscow days inclusive.

        Converted to UTC here: SQLite stores timestamps as UTC text without an offset and compares a
        bound parameter as text too, so a Moscow-time bound would be three hours off there.
        """
        start = datetime.combine(self.due_from, time(0), MOSCOW).astimezone(UTC) if self.due_from else None
        end = (datetime.combine(self.due_to + timedelta(days=1), time(0), MOSCOW).astimezone(UTC)
               if self.due_to else None)
        return start, end

    def query_string(self, **changes: Any) -> str:
        """The filter as the page's query string (dates ДД.ММ.ГГГГ), with `changes` applied; defaults left out."""
        target = replace(self, **changes) if changes else self
        values = {"queue": target.queue, "role": target.role, "task": target.task, "sla": target.sla,
                  "due_from": format_ru_date(target.due_from) if target.due_from else None,
                  "due_to": format_ru_date(target.due_to) if target.due_to else None,
                  "status": target.status if target.status != "open" else None, "q": target.q,
                  "sort": target.sort if target.sort != "due" else None,
                  "page": target.page if target.page > 1 else None}
        return urlencode({k: v for k, v in values.items() if v})

    def as_json(self) -> dict[str, Any]:
        return {"queue": self.queue, "role": self.role, "task": self.task, "sla": self.sla,
                "due_from": self.due_from.isoformat() if self.due_from else None,
                "due_to": self.due_to.isoformat() if self.due_to else None, "status": self.status,
                "q": self.q, "sort": self.sort, "limit": self.limit, "offset": self.offset}


def parse_search(text: str) -> Search:
    request = request_number_of(text)
    if request is not None:  # a support request's process has its number as the business key, as a case has
        return Search("request", request)
    term = case_number_of(" ".join(text.split()))
    compact = strip_separators(term)
    if compact.isdigit() and len(compact) == 11:
        return Search("snils", compact)
    if CASE_NUMBER.match(term) or term.isdigit():
        return Search("number", term)
    return Search("name", term.lower().replace("ё", "е"))


def _date(args: Mapping[str, Any], name: str, errors: list[FieldError]) -> date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    value = parse_iso_date(text) or parse_ru_date(text)
    if value is None:
        errors.append(FieldError(name, "format", "Введите дату в формате ДД.ММ.ГГГГ"))
    return value


def _int(args: Mapping[str, Any], name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        errors.append(FieldError(name, "range", f"Ожидается целое число от {low} до {high}"))
        return default
    return int(text)


def _choice(args: Mapping[str, Any], name: str, allowed: Any, default: str | None, message: str,
            errors: list[FieldError]) -> str | None:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if text not in allowed:
        errors.append(FieldError(name, "enum", message))
        return default
    return text


def parse_filter(args: Mapping[str, Any], role: str, *, default_queue: str = "group") -> TaskFilter:
    """The filter from a query string; InvalidFilter lists every bad value.

    `page` (1-based, 50 rows) and `limit`/`offset` are both accepted; `offset` wins when given.
    The «Все» queue is for supervisors and administrators only.
    """
    errors: list[FieldError] = []
    queue = _choice(args, "queue", QUEUES, default_queue, "Очередь: ожидается mine, group или all", errors)
    if queue == "all" and role not in SEE_ALL:
        errors.append(FieldError("queue", "forbidden", "Очередь «Все» доступна только руководителю и администратору"))
    target_role = _choice(args, "role", ROLES, None, "Неизвестная роль", errors)
    task = (args.get("task") or "").strip()[:200] or None
    sla = _choice(args, "sla", SLA_STATES, None, "Срок: ожидается on_time, at_risk или overdue", errors)
    due_from, due_to = _date(args, "due_from", errors), _date(args, "due_to", errors)
    if due_from and due_to and due_from > due_to:
        errors.append(FieldError("due_to", "range", "Конец периода раньше его начала"))
    status = _choice(args, "status", STATUSES, "open", "Состояние: ожидается open или completed", errors)
    q = " ".join((args.get("q") or "").split()) or None
    if q and len(q) > MAX_QUERY:
        errors.append(FieldError("q", "maxLength", f"Не больше {MAX_QUERY} символов"))
        q = None
    if q and parse_search(q).kind == "name" and len(q) < 2:
        errors.append(FieldError("q", "minLength", "Введите хотя бы две буквы фамилии"))
        q = None
    sort = _choice(args, "sort", SORTS, "due", "Сортировка: ожидается due, -due, received или -received", errors)
    limit = _int(args, "limit", PAGE_SIZE, 1, MAX_LIMIT, errors)
    page = _int(args, "page", 1, 1, 100_000, errors)
    offset = _int(args, "offset", (page - 1) * limit, 0, 10_000_000, errors)
    if errors:
        raise InvalidFilter(errors)
    return TaskFilter(queue=queue or default_queue, role=target_role, task=task, sla=sla, due_from=due_from,
                      due_to=due_to, status=status or "open", q=q, sort=sort or "due", limit=limit, offset=offset)
