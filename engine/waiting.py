"""What a waiting task waits for: its timer and its messages.

A catch event waits for its own event definition. An event-based gateway waits for all the events
after it at once: SpiffWorkflow keeps one task for the gateway, holding a MultipleEventDefinition
with the parts. Everything that schedules timers or routes messages reads them through here, so
both shapes behave the same.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def event_definitions(task: Any) -> list[Any]:
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def timer_definition(task: Any) -> TimerEventDefinition | None:
    """The timer the task waits for. SpiffWorkflow keeps one due time per task, so a gateway's first
    timer is the one that counts (a gateway with two timers would share that value in any case)."""
    return next((d for d in event_definitions(task) if isinstance(d, TimerEventDefinition)), None)


def timer_value(task: Any) -> Any:
    """The timer's pending value (an ISO due time, or a cycle's dict), None if the task has no timer."""
    definition = timer_definition(task)
    return definition.details(task).value if definition is not None else None


def message_names(task: Any) -> list[str]:
    return [d.name for d in event_definitions(task) if isinstance(d, MessageEventDefinition)]


def message_definition(task: Any, name: str) -> MessageEventDefinition | None:
    return next((d for d in event_definitions(task) if isinstance(d, MessageEventDefinition) and d.name == name),
                None)
