"""Russian labels of case statuses and refusal reasons (the codes are part of the public API and never change)."""

from __future__ import annotations

from functools import cache

from forms.validation import load_schema

STATUS_LABELS: dict[str, str] = {
    "submitted": "Принято",
    "in_progress": "В обработке",
    "needs_info": "Требуется уточнение",
    "approved": "Одобрено",
    "ready": "Готово к скачиванию",
    "rejected": "Отклонено",
    "appealed": "На обжаловании",
    "closed": "Закрыто",
    "cancelled": "Отменено",  # ended by a supervisor, with a reason (tasks/cases/cancellation.py)
}


# An appeal as the applicant reads it: its level, where it stands and how it ended.
APPEAL_LEVELS = {1: "Жалоба", 2: "Жалоба в вышестоящий орган"}
APPEAL_STATUS = {"registered": "рассматривается", "info_requested": "запрошены сведения",
                 "answered": "ответ на запрос получен, жалоба рассматривается", "decided": "рассмотрена"}
APPEAL_OUTCOMES = {"overturn": "удовлетворена: отказ отменён", "uphold": "оставлена без удовлетворения",
                   "request_info": "запрошены сведения"}


def appeal_level_label(level: int) -> str:
    return APPEAL_LEVELS.get(level, APPEAL_LEVELS[2])


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "submitted", status or "")


@cache
def reason_labels() -> dict[str, str]:
    """The reasons' wording lives once, in the operator's form schema, where staff choose them."""
    return dict(load_schema("operator_review")["properties"]["reasons"]["x-enum-labels"])


def reason_label(code: str) -> str:
    return reason_labels().get(code, code)
