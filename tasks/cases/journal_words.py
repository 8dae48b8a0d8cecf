"""The case journal in people's words: what each stored row (event code, BPMN message name, details)
says in Russian, for the staff's journal and the applicant's history.

The journal keeps codes (the API returns them as stored); every page reads them through this one
mapping. Service and timer rows are named by their BPMN element's name, which the diagrams already
give in Russian («Проверить паспорт (МВД)»); the caller passes those names in (`element_names`).
A detail without a phrase here is left off the page rather than shown as a code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tasks.accounts.roles import ROLE_LABELS

from .cancellation import NOTICE_LABEL, NOTICE_TITLE
from .labels import status_label

EVENT_LABELS = {
    "started": "Заявление принято, процесс запущен",
    "status_changed": "Смена статуса",
    "task_ready": "Создана задача",
    "task_claimed": "Задача взята в работу",
    "task_assigned": "Задача назначена",
    "task_unclaimed": "Задача возвращена в очередь",
    "task_completed": "Задача выполнена",
    "task_cancelled": "Задача снята",
    "service_completed": "Выполнен шаг",
    "service_failed": "Шаг не выполнен, будет повтор",
    "service_error_raised": "Сервис недоступен, ошибка передана процессу",
    "incident": "Инцидент: нужен администратор",
    "incident_retried": "Инцидент: повторный запуск",
    "timer_fired": "Наступил срок",
    "timer_failed": "Ошибка таймера",
    "timer_rescheduled": "Срок таймера перенесён",
    "instance_cancelled": "Заявление отменено",
    "instance_suspended": "Заявление приостановлено",
    "instance_resumed": "Заявление возобновлено",
    "message_delivered": "Получено от заявителя",
    "message_held": "Получено от заявителя: ждёт возобновления",
    "message_undeliverable": "Сообщение не доставлено",
    "completed": "Процесс завершён",
    "document_added": "Добавлен документ",
    "notification_sent": "Отправлено уведомление",
    "notification_failed": "Уведомление не отправлено",
    "notification_skipped": "Уведомление не отправлено: заявитель удалил учётную запись",
    "appeal_decided": "Решение по жалобе",
    "appeal_escalated": "Жалоба передана руководителю",
    "appeal_info_requested": "По жалобе запрошены сведения",
    "appeal_overdue": "Срок рассмотрения жалобы истёк",
    "appeal_reminder": "Напоминание о сроке жалобы",
    "case_viewed": "Просмотр заявления",
    "document_viewed": "Просмотр документа",
    "certificate_downloaded": "Скачана справка",
    "decision_downloaded": "Скачано решение об отказе",
    "receipt_downloaded": "Скачана расписка",
    "confirmation_viewed": "Просмотр подтверждения подачи",
    "employees_uploaded": "Загружен список работников",
    "employees_viewed": "Просмотр списка работников",
    "access_viewed": "Просмотр списка коллег с доступом",
    "access_granted": "Открыт доступ коллеге",
    "access_revoked": "Закрыт доступ коллеге",
    "shared_list_viewed": "Заявление показано коллеге в списке открытых ему",
    "document_deleted": "Удалён неприложенный документ",
    "hotline_filed": "Заявление подано через горячую линию",
    "hotline_identity_mismatch": "Горячая линия: личность не подтверждена, заявление не подано",
    "support_viewed": "Просмотр обращения в службу поддержки",
    "support_reminder": "Напоминание о сроке ответа на обращение",
    "support_escalated": "Обращение передано руководителю",
    "support_closed": "Обращение закрыто",
    "scans_deleted": "Сканы документов удалены по истечении срока хранения",
    "personal_data_minimised": "Персональные данные обезличены по истечении срока хранения",
    "data_erased": "Данные процесса удалены",
    "data_access_viewed": "Просмотр журнала обращений к своим данным",
    "data_exported": "Выгрузка всех своих данных",
    "appointment_booked": "Запись к врачу создана",
    "certificate_attached": "Справка приложена к записи к врачу",
    "appointment_failed": "Клиника не записала: время занято",
    "appointment_expired": "Клиника не подтвердила запись до времени приёма",
}
OTHER_EVENT = "Служебная запись"
# Service calls a case owes outside its diagram (engine.unit_of_work.DetachedCall), by their label.
OUTSIDE_DIAGRAMS = {NOTICE_LABEL: NOTICE_TITLE}

# What the applicant's own messages to the process mean, by BPMN message name.
MESSAGE_LABELS = {
    "application_updated": "Получены исправленные сведения (повторная подача)",
    "appeal_filed": "Получена жалоба на отказ",
    "appeal_info_answered": "Получен ответ на запрос сведений по жалобе",
    "employees_accepted": "Получен список работников",
    "support_message": "Получено сообщение заявителя по обращению",
    "appointment_change": "Получена просьба перенести или отменить запись к врачу",
}
OTHER_MESSAGE = "Получены уточнённые сведения"

# Notices (tasks/cases/notifications.py events) and their channels.
NOTICE_LABELS = {
    "submitted": "заявление принято", "in_progress": "заявление у специалиста", "needs_info": "нужны сведения",
    "info_answered": "ответ получен", "rejected": "отказ", "ready": "справка готова", "closed": "заявление закрыто",
    "cancelled": "заявление отменено",
    "appeal_registered": "жалоба зарегистрирована", "appeal_decided": "решение по жалобе",
    "appeal_reminder": "напоминание о сроке жалобы", "status_changed": "смена статуса", "register": "реестр",
    "support_reply": "ответ на обращение", "support_reminder": "напоминание о сроке ответа на обращение",
    "appointment_booked": "запись к врачу подтверждена", "appointment_failed": "время приёма занято",
    "appointment_expired": "запись не подтверждена клиникой",
    "appointment_moved": "запись к врачу перенесена", "appointment_move_failed": "запись к врачу не перенесена",
    "appointment_cancelled": "запись к врачу отменена", "appointment_reminder": "напоминание о приёме",
}
CHANNEL_LABELS = {"portal": "в личном кабинете", "email": "по электронной почте", "sms": "по SMS"}
VIEW_LABELS = {"audit": "журнал заявления", "page": "страница задачи", "api": "через API", "list": "список",
               "rows": "строки списка", "report": "отчёт о проверке", "resubmit": "форма повторной подачи",
               "appeal": "форма жалобы", "answer": "форма ответа на запрос"}
DOCUMENT_PREFIX = "Добавлен документ: "


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, OTHER_EVENT)


def message_label(name: str | None) -> str:
    return MESSAGE_LABELS.get(name or "", OTHER_MESSAGE)


def _when(value: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    from tasks.documents.formatting import moscow_time  # the documents' Moscow time, as everywhere

    local = moscow_time(moment) if moment.tzinfo else moment
    return local.strftime("%d.%m.%Y %H:%M")


def _attempt(details: Mapping[str, Any]) -> list[str]:
    attempt = details.get("attempt")
    return [f"попытка {attempt}"] if isinstance(attempt, int) and attempt > 1 else []


def _notice(details: Mapping[str, Any]) -> list[str]:
    facts = []
    if details.get("event") in NOTICE_LABELS:
        facts.append(f"уведомление «{NOTICE_LABELS[details['event']]}»")
    if details.get("channel") in CHANNEL_LABELS:
        facts.append(CHANNEL_LABELS[details["channel"]])
    return facts


def _view(details: Mapping[str, Any]) -> list[str]:
    facts = []
    for key in ("view", "page"):
        if details.get(key) in VIEW_LABELS:
            facts.append(VIEW_LABELS[details[key]])
    if isinstance(details.get("task"), int):
        facts.append(f"из задачи № {details['task']}")
    if isinstance(details.get("document"), int):
        facts.append(f"документ № {details['document']}")
    return facts


def _service(details: Mapping[str, Any]) -> list[str]:
    facts = _attempt(details)
    if details.get("retry_at") and (when := _when(details["retry_at"])):
        facts.append(f"повтор {when}")
    return facts


def _task_ready(details: Mapping[str, Any]) -> list[str]:
    role = ROLE_LABELS.get(details.get("role") or "")
    return [f"исполнители: {role}"] if role else []


def _due(details: Mapping[str, Any]) -> list[str]:
    when = _when(details["due_at"]) if details.get("due_at") else None
    return [f"срок {when}"] if when else []


def _control(details: Mapping[str, Any]) -> list[str]:
    """A supervisor's action on a timer or an incident: the reason, the manual firing, the new due time
    (cancelling, suspending and resuming a case keep the reason as the row's message)."""
    facts = [f"причина: {details['reason']}"] if details.get("reason") else []
    if details.get("manual"):
        facts.append("вручную, раньше срока")
    if details.get("to") and (when := _when(details["to"])):
        facts.append(f"новый срок {when}")
    return facts


def _version(details: Mapping[str, Any]) -> list[str]:
    return [f"версия схемы процесса {details['version']}"] if details.get("version") else []


DETAIL_FACTS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "started": _version, "task_ready": _task_ready, "service_completed": _attempt, "service_failed": _service,
    "service_error_raised": _attempt, "incident": _attempt, "notification_sent": _notice,
    "notification_failed": _notice, "notification_skipped": _notice, "case_viewed": _view, "document_viewed": _view,
    "employees_viewed": _view,
    "appeal_reminder": _due, "timer_fired": _control, "timer_rescheduled": _control, "incident_retried": _control,
}


def staff_message(event: str, message: str | None, details: Mapping[str, Any] | None, task_spec: str | None,
                  element_names: Mapping[str, str]) -> str | None:
    """The row's own words after its event label: a status change, the step's name, the message's meaning."""
    details = details or {}
    if event == "status_changed":
        before, after = details.get("from"), status_label(message)
        return f"«{status_label(before)}» → «{after}»" if before else f"«{after}»"
    if event in ("message_delivered", "message_held", "message_undeliverable"):
        return message_label(message)
    if event == "document_added" and message and message.startswith(DOCUMENT_PREFIX):
        return message[len(DOCUMENT_PREFIX):]
    if task_spec and event.startswith(("service_", "incident", "timer_")):
        return element_names.get(task_spec) or OUTSIDE_DIAGRAMS.get(task_spec) or message
    return message


def staff_facts(event: str, details: Mapping[str, Any] | None, people: Mapping[str, str]) -> list[str]:
    """The details a person needs, as short Russian phrases; `people` names `user:<id>` actors."""
    details = details or {}
    facts = DETAIL_FACTS.get(event, lambda _: [])(details)
    if event in ("task_claimed", "task_assigned") and details.get("assignee"):
        facts.append(f"исполнитель: {people.get(details['assignee'], 'удалённая учётная запись')}")
    return facts


def citizen_message(event: str, message: str | None) -> str:
    """A row of the applicant's history in their words."""
    if event == "status_changed":
        return f"Статус: «{status_label(message)}»"
    if event == "message_delivered":
        return message_label(message)
    return message or event_label(event)
