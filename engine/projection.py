"""What the rest of the system needs to see of a workflow, read from its state.

After every step the runtime derives: READY manual tasks (inboxes), STARTED async service tasks
(outbox), waiting timers (and timers fallen due the scheduler has yet to fire) with their UTC due times
(scheduler) and waiting messages. Comparing
with the previous snapshot tells which rows to insert, update or close.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .clock import parse_iso
from .specs import PARAMS_KEY, AsyncServiceTask
from .waiting import message_names, timer_value

log = logging.getLogger(__name__)
_jinja = SandboxedEnvironment(autoescape=False)


@dataclass
class HumanTaskView:
    guid: str
    spec_name: str
    title: str
    lane: str | None
    form_schema: str | None
    form_ui: str | None
    instructions: str | None
    due_at: datetime | None
    # `assignToCompleterOf` property: the id of an earlier user task whose completer gets this one (a task
    # that comes back after a round trip returns to the person who sent it out, not to the whole lane).
    completer_of: str | None = None


@dataclass
class ServiceTaskView:
    guid: str
    spec_name: str
    operator: str
    params: dict[str, Any]


@dataclass
class TimerView:
    guid: str
    spec_name: str
    due_at: datetime


@dataclass
class Snapshot:
    human: dict[str, HumanTaskView] = field(default_factory=dict)
    service: dict[str, ServiceTaskView] = field(default_factory=dict)
    timers: dict[str, TimerView] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)


def _render(template: str | None, data: dict) -> str | None:
    if not template:
        return None
    try:
        return _jinja.from_string(template).render(**data)
    except Exception:  # a broken template must not stop the process; show it raw
        log.exception("instructions template failed to render")
        return template


def _timer_due(task: Any) -> datetime | None:
    value = timer_value(task)
    if isinstance(value, str):
        return parse_iso(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _waiting_events(wf: BpmnWorkflow, active: list[Any]) -> tuple[dict[str, TimerView], set[str]]:
    """Waiting timers and messages; `active`: the workflow's READY and STARTED tasks.

    A timer that fell due during the engine's steps is READY rather than waiting: SpiffWorkflow refreshes
    timers once more at the end of its steps and runs what became READY only at its next steps. It keeps
    its row, so the scheduler fires it (and journals it) on its next pass; without the row nothing would
    step the instance again, and the timer would never fire.
    """
    timers: dict[str, TimerView] = {}
    messages: set[str] = set()
    for task in wf.event_manager.tasks.values():
        due = _timer_due(task)
        if due is not None:
            timers[str(task.id)] = TimerView(str(task.id), task.task_spec.name, due)
        messages.update(message_names(task))
    for task in active:
        if task.state == TaskState.READY and not task.task_spec.manual:
            due = _timer_due(task)
            if due is not None:
                timers[str(task.id)] = TimerView(str(task.id), task.task_spec.name, due)
    return timers, messages


def _boundary_due(task: Any, timers: dict[str, TimerView]) -> datetime | None:
    """The SLA of a task is the earliest timer among the boundary events attached to it."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    dues = [timers[str(s.id)].due_at for s in parent.children if str(s.id) in timers]
    return min(dues) if dues else None


def _human_view(task: Any, timers: dict[str, TimerView]) -> HumanTaskView:
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    props = extensions.get("properties") or {}
    return HumanTaskView(
        guid=str(task.id),
        spec_name=spec.name,
        title=spec.bpmn_name or spec.name,
        lane=spec.lane,
        form_schema=props.get("formJsonSchemaFilename"),
        form_ui=props.get("formUiSchemaFilename"),
        instructions=_render(extensions.get("instructionsForEndUser"), task.data),
        due_at=_boundary_due(task, timers),
        completer_of=props.get("assignToCompleterOf") or None,
    )


def snapshot(wf: BpmnWorkflow) -> Snapshot:
    active = list(wf.get_tasks(state=TaskState.READY | TaskState.STARTED))
    timers, messages = _waiting_events(wf, active)
    snap = Snapshot(timers=timers, messages=messages)
    for task in active:
        spec = task.task_spec
        if task.state == TaskState.READY and spec.manual:
            snap.human[str(task.id)] = _human_view(task, timers)
        elif task.state == TaskState.STARTED and isinstance(spec, AsyncServiceTask):
            params = task.internal_data.get(PARAMS_KEY, {})
            snap.service[str(task.id)] = ServiceTaskView(str(task.id), spec.name, spec.operation_name, params)
    return snap
