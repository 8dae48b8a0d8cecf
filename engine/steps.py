"""The path a case takes: one `step` row for every completed pass through a diagram element.

SpiffWorkflow keeps completed tasks in the state only while they are part of the live tree, with no
record of when they became active, who did them or which branch of a gateway was taken. The runtime
calls `record_completed` on every save: tasks completed since the previous save (their
`last_state_change` is later than the stamp kept in the instance's projection) become rows, each with
the element it came from, so the sequence flows a case took can be drawn and counted.

Times: a task becomes active when its parent task completes (SpiffWorkflow readies children at that
moment), so `entered_at` is the parent's completion time; a user task's is the time its inbox row was
created and its `started_at` the first claim or assignment (the waiting time ends there and the
handling time begins); a service task is handled from the moment it is entered.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import pending_rows
from .clock import aware, utcnow
from .models import HumanTask, JournalEntry, ProcessInstance, Step
from .specs import AsyncServiceTask

log = logging.getLogger(__name__)
STAMP = "steps_at"  # projection key: the clock's timestamp (engine/clock.py) of the last recorded save
CLAIM_EVENTS = ("task_claimed", "task_assigned")


def stamp_of(inst: ProcessInstance) -> float:
    """Completed tasks later than this are new. An instance saved before steps were recorded counts
    from its last update, so its earlier history is not recorded with made-up times."""
    stamp = (inst.projection or {}).get(STAMP)
    if stamp is not None:
        return float(stamp)
    return aware(inst.updated_at).timestamp() if inst.state else 0.0


def record_completed(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, since: float,
                     human_ids: dict[str, int]) -> float:
    """Insert a row per element completed after `since`; returns the stamp for the next save.

    `human_ids` maps task guids to inbox rows as the previous save projected them (a user task
    completed now is still there).
    """
    now = utcnow().timestamp()  # the clock SpiffWorkflow stamps task changes with (engine/clock.py)
    tasks = sorted((t for t in all_tasks(wf) if t.state == TaskState.COMPLETED and t.last_state_change > since
                    and getattr(t.task_spec, "bpmn_id", None)), key=lambda t: t.last_state_change)
    for task in tasks:  # written with the transaction's other pending rows (engine.pending_rows)
        pending_rows.add(s, Step.__table__, _row(s, inst, task, human_ids))
    return now


def all_tasks(wf: BpmnWorkflow) -> list[Any]:
    """Tasks of the workflow and of every subprocess (the task iterator skips finished subprocesses)."""
    tasks = list(wf.tasks.values())
    for sub in wf.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def _at(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def source_of(task: Any) -> Any:
    """The nearest earlier task that is a diagram element (control tasks such as boundary splits are not)."""
    parent = task.parent
    while parent is not None and not getattr(parent.task_spec, "bpmn_id", None):
        parent = parent.parent
    return parent


def _row(s: Session, inst: ProcessInstance, task: Any, human_ids: dict[str, int]) -> dict[str, Any]:
    spec = task.task_spec
    source = source_of(task)
    entered = _at(task.parent.last_state_change if task.parent is not None else task.last_state_change)
    ended = _at(task.last_state_change)
    row = {"instance_id": inst.id, "process_id": inst.process_id, "element": spec.bpmn_id,
           "kind": type(spec).__name__, "source": source.task_spec.bpmn_id if source is not None else None,
           "entered_at": min(entered, ended), "started_at": None, "ended_at": ended, "due_at": None,
           "actor": None, "details": None}
    if isinstance(spec, AsyncServiceTask):
        row["started_at"] = row["entered_at"]
    elif spec.manual and str(task.id) in human_ids:
        _user_task(s, row, human_ids[str(task.id)])
    elif getattr(spec, "dmnEngine", None) is not None:
        row["details"] = decision_details(task)
    return row


def _user_task(s: Session, row: dict[str, Any], human_id: int) -> None:
    ht = s.get(HumanTask, human_id)
    if ht is None:
        return
    row["entered_at"] = aware(ht.created_at)
    row["due_at"] = aware(ht.due_at)
    row["actor"] = ht.completed_by
    row["ended_at"] = aware(ht.completed_at) or row["ended_at"]
    claimed = s.scalar(select(JournalEntry.at).where(
        JournalEntry.instance_id == ht.instance_id, JournalEntry.task_spec == ht.spec_name,
        JournalEntry.event.in_(CLAIM_EVENTS), JournalEntry.at >= ht.created_at).order_by(JournalEntry.at).limit(1))
    if claimed is not None and aware(claimed) <= row["ended_at"]:
        row["started_at"] = aware(claimed)


def decision_details(task: Any) -> dict[str, Any] | None:
    """The decision table's rows that fired and the values of its inputs, evaluated on the task's data
    as it completed (SpiffWorkflow keeps neither). None when they cannot be evaluated."""
    engine = task.task_spec.dmnEngine
    table = engine.decision_table
    try:
        rules = engine.decide(task)
        inputs = [{"label": i.label or i.expression, "expression": i.expression,
                   "value": _plain(task.workflow.script_engine.evaluate(task, i.expression))} for i in table.inputs]
    except Exception:  # the outputs may have replaced an input variable: show nothing rather than fail a save
        log.warning("decision %s of task %s could not be re-evaluated", table.id, task.id, exc_info=True)
        return None
    return {"decision": table.name or table.id, "inputs": inputs,
            "rules": [{"row": r.row_number, "id": r.id, "description": r.description} for r in rules],
            "outputs": {name: _plain(_read(task.data, name)) for name in _output_names(table)}}


def _output_names(table: Any) -> list[str]:
    return [o.name or o.label for o in table.outputs]


def _read(data: dict[str, Any], name: str) -> Any:
    """An output's value as the task's data holds it (``a.b`` is nested, as SpiffWorkflow writes it).
    Recorded so a replay of the pass (engine.decision_replay) knows outputs its inputs cannot produce."""
    value: Any = data
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _plain(value: Any) -> Any:
    """JSON-safe copy (dates and decimals as text)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
