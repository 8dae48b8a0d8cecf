"""Codes of support requests and their Russian words, and the request number as people type it."""

from __future__ import annotations

import re

TYPE_LABELS: dict[str, str] = {
    "technical": "Технический сбой",
    "case_question": "Вопрос по заявлению",
    "appeal": "Обжалование отказа",
    "data_change": "Изменение данных",
    "other": "Другое",
}
APPEAL = "appeal"  # this type becomes the case's own appeal (one appeal, never a second channel)
# The request's state is its process instance's status (set by workflows/support_request.bpmn).
STATUS_LABELS: dict[str, str] = {
    "open": "На рассмотрении",
    "answered": "Дан ответ",
    "needs_info": "Нужны подробности",
    "closed": "Закрыто",
    "appeal": "Передано на обжалование",
}
# Thread entries: who wrote what.
KIND_LABELS: dict[str, str] = {
    "request": "Обращение",
    "message": "Сообщение заявителя",
    "reply": "Ответ службы поддержки",
    "ask": "Вопрос службы поддержки",
    "close": "Решение службы поддержки",
}
STAFF_KINDS = frozenset({"reply", "ask", "close"})

# O-2026-000017: the Latin «O», as the appeal's «A»; a typed Cyrillic «О», lowercase, spaces and «№» are accepted.
_NUMBER = re.compile(r"^[OoОо]-(\d{4})-(\d{1,6})$")


def format_request_number(year: int, value: int) -> str:
    return f"O-{year}-{value:06d}"


def request_number_of(text: str) -> str | None:
    """The canonical request number of what was typed, or None when it is not one."""
    compact = "".join(str(text).split()).lstrip("№")
    match = _NUMBER.match(compact)
    return format_request_number(int(match[1]), int(match[2])) if match else None


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")
