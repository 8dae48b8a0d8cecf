"""Russian words for the diff page: kinds of elements, kinds of change and what inside an element changed.

Paths come from engine.bpmn_diff (``@name``, ``script``, ``timerEventDefinition[t1]/timeDate``); the page
shows the Russian word next to the path itself, which the analyst also sees in the modeler.
"""

from __future__ import annotations

from engine.bpmn_outline import KINDS

ELEMENT_KINDS = {**KINDS, "sequenceFlow": "Поток", "lane": "Дорожка", "participant": "Участник (пул)",
                 "collaboration": "Взаимодействие", "messageFlow": "Поток сообщений", "process": "Процесс",
                 "dataObjectReference": "Объект данных", "dataStoreReference": "Хранилище данных",
                 "dataInputAssociation": "Связь данных", "dataOutputAssociation": "Связь данных"}
CHANGES = {"added": "добавлен", "removed": "удалён", "changed": "изменён", "layout": "перемещён на схеме"}
RULE_CHANGES = {"added": "добавлено", "removed": "удалено", "changed": "изменено", "moved": "перемещено"}
FILE_STATUSES = {"added": "новый файл", "removed": "файл удалён", "changed": "изменён", "unchanged": "без изменений",
                 "unreadable": "не разобран"}
# The first matching part of a path names what changed, most specific first.
PARTS = (("timerEventDefinition", "таймер"), ("conditionExpression", "условие перехода"),
         ("extensionElements", "свойства расширения"), ("script", "скрипт"), ("documentation", "описание"),
         ("messageEventDefinition", "сообщение"), ("errorEventDefinition", "ошибка"), ("@name", "название"),
         ("@sourceRef", "откуда"), ("@targetRef", "куда"), ("@default", "поток по умолчанию"),
         ("@attachedToRef", "к чему прикреплено"), ("@cancelActivity", "прерывает задачу"),
         ("@calledElement", "вызываемый процесс"), ("lane", "дорожка"), ("type", "тип элемента"),
         ("hitPolicy", "политика попаданий"), ("aggregation", "агрегация"), ("expression", "выражение"),
         ("label", "заголовок"), ("typeRef", "тип"), ("name", "название"))


def element_kind(kind: str) -> str:
    return ELEMENT_KINDS.get(kind, kind)


def what_changed(path: str) -> str:
    """A Russian word for a changed path (the path itself when nothing fits)."""
    return next((word for part, word in PARTS if path == part or path.startswith(part) or f"/{part}" in path),
                path)
