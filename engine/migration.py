"""Moving a running instance from one deployed version of its process to another.

SpiffWorkflow 3.2 aligns the two specs (`SpecDiff`: by element id, then by structure) and moves a
workflow's tasks onto the aligned specs (`migrate_workflow`). What it does not decide is whether a
move is safe; that rule lives here: a case may move when every change lies ahead of where it stands.
It is refused when an element it stands at (a READY user task, a WAITING timer or message, a STARTED
service call) was removed or changed, or the boundary events of that element changed, or when an
element it already passed no longer exists (its history could not be stored on the new version).
Changes of the flows leaving or entering the current element are ahead or behind, not at it.

Every verdict is checked by doing the move in memory and checking that every task of the result belongs
to the target version, so a dry run says exactly what a real run will do with the same state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import EngineError, NotFound
from .models import ProcessInstance, ProcessVersion
from .serialization import SpecBundle, StateSerializer
from .versions import SpecCache

CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PAST = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR
# Where an element's flows go or come from is ahead of or behind a case standing at it; only a join
# (which waits for its incoming branches) depends on its inputs.
FLOW_KEYS = frozenset({"outputs", "inputs"})
# What a changed attribute of a task spec is, in the words staff read in the reason.
CHANGE_WORDS = {
    "bpmn_name": "название", "lane": "дорожка", "extensions": "свойства", "event_definition": "событие",
    "script": "скрипт", "prescript": "скрипт до задачи", "postscript": "скрипт после задачи",
    "typename": "тип элемента", "documentation": "описание", "inputs": "входящие переходы",
    "outputs": "исходящие переходы", "operation_name": "оператор", "operation_params": "параметры оператора",
    "result_variable": "переменная результата", "cond_task_specs": "условия", "default_task_spec": "ветвь по умолчанию",
}


class MigrationRefused(EngineError):
    """The request itself cannot be carried out (same version, unknown version); nothing was changed."""


@dataclass(frozen=True)
class Obstacle:
    """Why one case cannot move; `message` is shown to staff."""

    code: str  # removed | changed | history_removed | subprocess_removed | suspended | not_migratable
    element_id: str | None = None
    element_name: str | None = None
    detail: str | None = None

    @property
    def message(self) -> str:
        element = f"«{self.element_name or self.element_id}»"
        if self.code == "removed":
            return f"элемент {element}, на котором стоит дело, удалён в новой версии"
        if self.code == "changed":
            return f"элемент {element}, на котором стоит дело, изменён ({self.detail})"
        if self.code == "history_removed":
            return f"пройденный делом элемент {element} удалён в новой версии"
        if self.code == "subprocess_removed":
            return f"подпроцесс {element} отсутствует в новой версии"
        if self.code == "suspended":
            return "дело приостановлено: его переносят после возобновления"
        return f"перенос не удался: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "element_id": self.element_id, "element_name": self.element_name,
                "detail": self.detail, "message": self.message}


@dataclass
class VersionPair:
    """Two versions of one process with their spec diff, computed once for all of its cases."""

    process_id: str
    source_id: int
    source_version: int
    target_id: int
    target_version: int
    source: SpecBundle
    target: SpecBundle
    changed_forms: frozenset[str]
    spec_diff: SpecDiff
    _sub_diffs: dict[str, SpecDiff | None] = field(default_factory=dict)

    def sub_diff(self, registry: Any, spec: Any) -> SpecDiff | None:
        if spec.name not in self._sub_diffs:
            new = self.target.subprocess_specs.get(spec.name)
            self._sub_diffs[spec.name] = None if new is None else SpecDiff(registry, spec, new)
        return self._sub_diffs[spec.name]


def version_pair(session: Session, specs: SpecCache, process_id: str, source: int, target: int) -> VersionPair:
    """Load both versions (NotFound for an unknown one) and diff their specs."""
    if source == target:
        raise MigrationRefused("исходная и целевая версии совпадают")
    rows = {v: session.execute(select(ProcessVersion.id, ProcessVersion.version).where(
        ProcessVersion.process_id == process_id, ProcessVersion.version == v)).first() for v in (source, target)}
    for number, row in rows.items():
        if row is None:
            raise NotFound(f"у процесса «{process_id}» нет версии {number}")
    src, dst = rows[source], rows[target]
    old_forms, new_forms = specs.forms(session, src.id), specs.forms(session, dst.id)
    changed_forms = frozenset(name for name in old_forms if old_forms[name] != new_forms.get(name))
    source_bundle, target_bundle = specs.bundle(session, src.id), specs.bundle(session, dst.id)
    diff = SpecDiff(specs.serializer.registry, source_bundle.spec, target_bundle.spec)
    return VersionPair(process_id, src.id, src.version, dst.id, dst.version, source_bundle, target_bundle,
                       changed_forms, diff)


def running_instances(session: Session, pair: VersionPair, after_id: int = 0, limit: int | None = None) -> Any:
    """Running instances on the pair's source version, in id order from `after_id` (keyset pages)."""
    query = (select(ProcessInstance).where(ProcessInstance.process_id == pair.process_id,
                                           ProcessInstance.version_id == pair.source_id,
                                           ProcessInstance.completed.is_(False),
                                           ProcessInstance.id > after_id)
             .order_by(ProcessInstance.id))
    return query.limit(limit) if limit else query


class Migrator:
    """Judges and performs the move of one workflow; holds no state between cases."""

    def __init__(self, serializer: StateSerializer) -> None:
        self.registry = serializer.registry

    def migrate(self, pair: VersionPair, wf: BpmnWorkflow) -> Obstacle | None:
        """Move `wf` onto the target version in place; an Obstacle (and a workflow to discard) if it may not."""
        diffs = [(wf, pair.spec_diff, pair.target.spec)]
        for sub in wf.subprocesses.values():
            sub_diff = pair.sub_diff(self.registry, sub.spec)
            if sub_diff is None:
                return Obstacle("subprocess_removed", sub.spec.name, sub.spec.description)
            diffs.append((sub, sub_diff, pair.target.subprocess_specs[sub.spec.name]))
        planned = []
        for workflow, spec_diff, new_spec in diffs:
            try:
                workflow_diff = WorkflowDiff(workflow, spec_diff)
            except KeyError as exc:  # a task whose spec the diff could not reach from the start event
                return Obstacle("not_migratable", detail=f"элемент {exc} не сопоставлен с новой версией")
            obstacle = self._obstacle(workflow_diff, spec_diff, pair.changed_forms)
            if obstacle is not None:
                return obstacle
            planned.append((workflow, workflow_diff, new_spec))
        try:
            for workflow, workflow_diff, new_spec in planned:
                self._move(workflow, workflow_diff, new_spec)
            wf.subprocess_specs = pair.target.subprocess_specs
            stray = _stray_task(wf, pair.target)
        except Exception as exc:  # any failure leaves this case where it is; the reason is reported
            return Obstacle("not_migratable", detail=f"{type(exc).__name__}: {exc}")
        if stray is not None:
            return Obstacle("not_migratable", stray.bpmn_id or stray.name, stray.bpmn_name,
                            "элемент не сопоставлен с новой версией")
        return None

    def _obstacle(self, diff: WorkflowDiff, spec_diff: SpecDiff, changed_forms: frozenset[str]) -> Obstacle | None:
        current = [t for t in diff.removed if t.has_state(CURRENT)]
        if current:
            return _about("removed", current[0].task_spec)
        # Elements of the diagram first: a control spec of the engine (a boundary event split) goes with one.
        past = sorted((t for t in diff.removed if t.has_state(PAST)),
                      key=lambda t: getattr(t.task_spec, "bpmn_id", None) is None)
        if past:
            return _about("history_removed", past[0].task_spec)
        for task in diff.changed:
            if not task.has_state(CURRENT):
                continue
            keys = _relevant_changes(task.task_spec, spec_diff.changed[task.task_spec])
            if keys:
                return _about("changed", task.task_spec, ", ".join(CHANGE_WORDS.get(k, k) for k in keys))
        for task in diff.alignment:
            if not task.has_state(CURRENT):
                continue
            form = _form_of(task.task_spec)
            if form and form in changed_forms:
                return _about("changed", task.task_spec, f"форма {form}")
            parent = task.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) \
                    and parent.task_spec in spec_diff.changed:
                return _about("changed", task.task_spec, "граничные события")
        return None

    @staticmethod
    def _move(workflow: Any, diff: WorkflowDiff, new_spec: Any) -> None:
        """`migrate_workflow`, keeping the state of unchanged elements the case stands at.

        SpiffWorkflow resets every READY and WAITING task to predict its branch again from the new spec,
        which also re-evaluates timers: an unchanged SLA timer would restart its count from now. Their
        data and internal data (the timer's due time) are put back, and the branches of STARTED tasks
        (service calls in flight, which must not be reset) are predicted again from their new spec.
        """
        kept = {task.id: (task.data, task.internal_data) for task in diff.alignment
                if task.has_state(TaskState.READY | TaskState.WAITING)}
        migrate_workflow(diff, workflow, new_spec)
        for task_id, (data, internal) in kept.items():
            task = workflow.tasks.get(task_id)
            if task is not None and task.has_state(TaskState.READY | TaskState.WAITING):
                task.data, task.internal_data = data, internal
        for task in workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
            if any(child.has_state(TaskState.FINISHED_MASK) for child in task.children):
                continue  # never the case for a call still in flight; left alone rather than guessed at
            task._drop_children(force=True)  # what reset_branch does below a READY task
            task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
            for child in task.children:
                child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)


def _stray_task(wf: BpmnWorkflow, target: SpecBundle) -> Any:
    """The spec of a task left pointing outside the target version, if any.

    A stored state names each task's spec and is restored against the target version alone, so every
    task must now belong to it (a cheaper proof than writing the state out and reading it back).
    """
    for workflow in (wf, *wf.subprocesses.values()):
        specs = workflow.spec.task_specs
        if workflow is not wf and target.subprocess_specs.get(workflow.spec.name) is not workflow.spec:
            return workflow.spec
        for task in workflow.tasks.values():
            if specs.get(task.task_spec.name) is not task.task_spec:
                return task.task_spec
    return None


def _relevant_changes(spec: Any, keys: list[str]) -> list[str]:
    if isinstance(spec, Join):
        return sorted(keys)
    return sorted(k for k in keys if k not in FLOW_KEYS)


def _form_of(spec: Any) -> str | None:
    props = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    return props.get("formJsonSchemaFilename")


def _about(code: str, spec: Any, detail: str | None = None) -> Obstacle:
    return Obstacle(code, getattr(spec, "bpmn_id", None) or spec.name, getattr(spec, "bpmn_name", None), detail)


def state_digest(state: str) -> str:
    """A short fingerprint of a stored state: a case whose state still has it has not moved on."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()
