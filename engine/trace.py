"""Where an instance stands and how it got there, read for people who look at one case.

`instance_trace` gathers, in the caller's session: the elements passed (the `step` rows, in order),
the current position (open user tasks, waiting timers, pending service calls and incidents) and,
per element, what happened there as the state and the outbox hold it: a service call's parameters,
attempts and result; the form data a person submitted with a user task. What of it a reader may see
is for the application to decide; this module only collects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import aware
from .errors import NotFound
from .models import HumanTask, ProcessInstance, ServiceCall, Step, Timer
from .runtime import Runtime
from .specs import AsyncServiceTask
from .steps import all_tasks, source_of

PENDING_CALLS = ("queued", "retry_wait")
ACTIVE = (TaskState.READY, TaskState.STARTED, TaskState.WAITING)


@dataclass
class Position:
    """One thing the instance waits on now."""

    element: str
    kind: str  # user_task | timer | service_call | incident
    since: datetime | None = None
    due_at: datetime | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    instance_id: int
    process_id: str
    version_id: int
    completed: bool
    steps: list[Step]
    current: list[Position]
    calls: dict[str, list[dict[str, Any]]]  # element -> its service calls, oldest first
    forms: dict[str, list[dict[str, Any]]]  # element -> completed user tasks: who, when, the form data
    # (came from, element) of the elements active now: the flows into them are taken, though no step
    # is recorded until they complete
    entering: list[tuple[str | None, str]] = field(default_factory=list)


def instance_trace(s: Session, runtime: Runtime, instance_id: int) -> Trace:
    inst = s.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound(f"instance {instance_id} does not exist")
    steps = list(s.scalars(select(Step).where(Step.instance_id == instance_id).order_by(Step.ended_at, Step.id)))
    calls = list(s.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance_id).order_by(ServiceCall.id)))
    tasks = list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)))
    timers = list(s.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.due_at)))
    live = all_tasks(runtime.serializer.load_state(inst.state, runtime.specs.bundle(s, inst.version_id))) \
        if inst.state else []
    data = {str(t.id): t.data for t in live if t.state == TaskState.COMPLETED}
    entering = [(source.task_spec.bpmn_id if (source := source_of(t)) is not None else None, t.task_spec.bpmn_id)
                for t in live if t.state in ACTIVE and getattr(t.task_spec, "bpmn_id", None)]
    return Trace(instance_id, inst.process_id, inst.version_id, inst.completed, steps,
                 _current(tasks, timers, calls), _calls(calls, data, result_variables(runtime, s, inst.version_id)),
                 _forms(s, runtime, inst, tasks, data), entering)


def _current(tasks: list[HumanTask], timers: list[Timer], calls: list[ServiceCall]) -> list[Position]:
    out = [Position(t.spec_name, "user_task", aware(t.created_at), aware(t.due_at),
                    {"task_id": t.id, "title": t.title, "role": t.role, "assignee": t.assignee})
           for t in tasks if t.status == "open"]
    out += [Position(t.task_spec, "timer", None, aware(t.due_at)) for t in timers]
    out += [Position(c.task_spec, "incident" if c.status == "incident" else "service_call", aware(c.created_at),
                     aware(c.next_attempt_at) if c.status == "retry_wait" else None,
                     {"call_id": c.id, "operator": c.operator, "attempts": c.attempts, "error": c.last_error,
                      "status": c.status})
            for c in calls if c.status in (*PENDING_CALLS, "incident")]
    return out


def _calls(calls: list[ServiceCall], data: dict[str, dict[str, Any]],
           variables: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in calls:
        out.setdefault(c.task_spec, []).append({
            "id": c.id, "operator": c.operator, "params": c.params, "status": c.status, "attempts": c.attempts,
            "error": c.last_error, "created_at": aware(c.created_at), "finished_at": aware(c.finished_at),
            "result": _result(c, data.get(c.task_guid), variables.get(c.task_spec))})
    return out


def _result(call: ServiceCall, data: dict[str, Any] | None, variable: str | None) -> Any:
    """What the operator returned: the completed task's data under the task's result variable."""
    if data is None or variable is None or call.status != "done":
        return None
    return data.get(variable)


def _forms(s: Session, runtime: Runtime, inst: ProcessInstance, tasks: list[HumanTask],
           data: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    forms = runtime.specs.forms(s, inst.version_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        if t.status != "completed":
            continue
        fields = list((forms.get(t.form_schema or "") or {}).get("properties") or {})
        values = data.get(t.task_guid) or {}
        out.setdefault(t.spec_name, []).append({
            "task_id": t.id, "title": t.title, "completed_by": t.completed_by, "completed_at": aware(t.completed_at),
            "data": {name: values[name] for name in fields if name in values}})
    return out


def result_variables(runtime: Runtime, s: Session, version_id: int) -> dict[str, str]:
    """Service task element -> the variable its result is stored in."""
    bundle = runtime.specs.bundle(s, version_id)
    out = {}
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for name, task_spec in spec.task_specs.items():
            if isinstance(task_spec, AsyncServiceTask) and task_spec.result_variable:
                out[name] = task_spec.result_variable
    return out
