"""The runtime: start instances and advance them, one locked transaction at a time.

Every change to an instance goes through `_advance`: lock the row (SELECT ... FOR UPDATE on
PostgreSQL; BEGIN IMMEDIATE serializes writers on SQLite), restore the workflow, apply the action,
step the engine, save state + projections + outbox + journal, commit, then push new jobs to RQ.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple
from uuid import UUID

from jsonschema import FormatChecker
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import advances, journal, pending_rows, steps
from . import held_messages as held
from .clock import utcnow
from .db import Database
from .dispatch import Dispatcher, JobRequest, new_job_id
from .errors import Conflict, NotFound, UndeliverableMessage
from .instance_start import CurrentVersions
from .models import HumanTask, LaneRole, MessageSubscription, ProcessInstance, ServiceCall, Timer
from .operators import get_operator
from .pending_rows import GateRefused
from .projection import Snapshot, snapshot
from .scripting import ScriptEnvironment
from .serialization import StateSerializer
from .settle import FinishedCall, StaleInstance, cancel_finished, finish_if_unchanged, lock_finishing, lock_instance
from .task_forms import FormValidator, validate_task_data
from .unit_of_work import DetachedCall, UnitOfWork, unit_of_work
from .versions import SpecCache
from .waiting import message_definition, timer_value
from .warm import Kept, KeptCall, WarmWorkflows, committed_row, reattach
from .writer import NewCall, ProjectionWriter, insert_call

log = logging.getLogger(__name__)
# The task guid of an outbox row that belongs to no task (a DetachedCall).
DETACHED = "detached"


@dataclass
class InstanceInfo:
    id: int
    process_id: str
    version_id: int
    business_key: str | None
    status: str | None
    completed: bool


@dataclass
class ServiceOutcome:
    """What a worker brings back from running one operator."""

    call_id: int
    ok: bool
    result: Any = None
    error_code: str | None = None
    error: str | None = None
    retryable: bool = True
    retry_after: float | None = None  # the operator's hint for the next attempt (OperatorError.retry_after)
    task_guid: str | None = None  # known to the worker: lets a success skip reading the outbox row


@dataclass(frozen=True)
class QueuedCall:
    """An outbox row as a worker needs it; handed over in memory to run a chain without re-reading it."""

    id: int
    instance_id: int
    operator: str
    params: dict[str, Any]
    task_guid: str


@dataclass
class _Advance:
    """Post-commit work collected during one transaction."""

    # Outbox rows to push (job id, rows, timeout) or to run inline; read after commit, when ids exist.
    jobs: list[tuple[str, Sequence[ServiceCall | NewCall], float]] = field(default_factory=list)
    inline: list[ServiceCall | NewCall] = field(default_factory=list)
    thrown: list[tuple[int, str, str | None, dict]] = field(default_factory=list)


class _Opened(NamedTuple):
    """A round's instance and workflow, ready for its results."""

    inst: ProcessInstance
    wf: BpmnWorkflow
    finished: dict[int, FinishedCall | None]  # call id -> its row as `lock_finishing` finished it
    outcomes: list[ServiceOutcome]
    restored: bool  # whether the workflow was restored from the stored state


class Runtime:
    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher | None,
        script_env: ScriptEnvironment | None = None,
        format_checker: FormatChecker | None = None,
        form_validator: FormValidator | None = None,
    ) -> None:
        self.db = database
        self.format_checker = format_checker
        # The application's own validation (e.g. with messages in the users' language) replaces the default.
        self.form_validator = form_validator
        self.dispatcher = dispatcher
        self.serializer = StateSerializer()
        self.specs = SpecCache(self.serializer)
        self.versions = CurrentVersions()
        self.script_env = script_env or ScriptEnvironment()
        self.script_engine = self.script_env.script_engine()

    # ----------------------------------------------------------------- start
    def start(
        self,
        process_id: str,
        data: dict[str, Any] | None = None,
        business_key: str | None = None,
        owner: str | None = None,
        actor: str | None = None,
        before_commit: Callable[[Session, InstanceInfo], None] | None = None,
    ) -> InstanceInfo:
        """Create an instance on the current version and run it to its first wait state.

        `before_commit` runs in the same transaction once the instance has its id, so that a caller's
        own rows (an application referring to the instance) commit or fail together with it.
        """
        post = _Advance()
        with self.db.session() as s:
            now = utcnow()
            inst = ProcessInstance(
                process_id=process_id, version_id=None, business_key=business_key, owner=owner, status=None,
                completed=False, state="", projection={}, created_at=now, updated_at=now, ended_at=None,
                suspended_at=None,
            )
            version = self.versions.insert(s, inst)
            bundle = self.specs.bundle(s, version.id)
            wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=self.script_engine)
            wf.task_tree.data.update(data or {})
            journal.record(s, inst.id, "started", actor=actor or owner,
                           details={"process_id": process_id, "version": version.version})
            with unit_of_work() as uow:
                wf.do_engine_steps()
                self._save(s, inst, wf, uow, actor or owner, post, restored=False)
            info = _info(inst)
            if before_commit is not None:
                before_commit(s, info)
            # After the commit of the transaction this one may have joined (a caller's own): jobs never
            # run on rows that are not committed yet.
            self.db.after_commit(s, lambda: self._after_commit(post))
        return info

    # ------------------------------------------------------------ human tasks
    def complete_user_task(self, human_task_id: int, data: dict[str, Any], actor: str) -> InstanceInfo:
        """Complete a READY manual task; a task already completed or claimed by another is a Conflict."""
        instance_id = self._human_task_instance(human_task_id)

        def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork) -> None:
            if inst.suspended_at is not None:
                raise Conflict("the instance is suspended")
            ht = s.get(HumanTask, human_task_id, populate_existing=True)
            if ht is None or ht.status != "open":
                raise Conflict("the task has already been completed or is no longer active")
            if ht.assignee is not None and ht.assignee != actor:
                raise Conflict(f"the task is claimed by {ht.assignee}")
            task = wf.get_task_from_id(UUID(ht.task_guid))
            if task is None or task.state != TaskState.READY:
                raise Conflict("the task is no longer active")
            schema = self.specs.forms(s, inst.version_id).get(ht.form_schema or "")
            validate_task_data(schema, data, self.format_checker, self.form_validator, context=task.data)
            task.set_data(**data)
            task.run()
            ht.status = "completed"
            ht.completed_at = utcnow()
            ht.completed_by = actor
            journal.record(s, inst.id, "task_completed", actor=actor, task_spec=ht.spec_name,
                           message=ht.title)
            wf.do_engine_steps()

        return self._advance(instance_id, action, actor)

    def claim(self, human_task_id: int, user: str) -> None:
        self._set_assignee(human_task_id, user, expect_free=True, actor=user, event="task_claimed")

    def unclaim(self, human_task_id: int, user: str, *, force: bool = False) -> None:
        with self.db.session() as s:
            ht = self._open_task(s, human_task_id)
            if ht.assignee is None:
                return
            if ht.assignee != user and not force:
                raise Conflict(f"the task is claimed by {ht.assignee}")
            ht.assignee = None
            journal.record(s, ht.instance_id, "task_unclaimed", actor=user, task_spec=ht.spec_name)

    def assign(self, human_task_id: int, assignee: str | None, actor: str) -> None:
        """A supervisor's reassignment: no check of the current assignee."""
        self._set_assignee(human_task_id, assignee, expect_free=False, actor=actor, event="task_assigned")

    def _set_assignee(self, human_task_id: int, user: str | None, *, expect_free: bool, actor: str,
                      event: str) -> None:
        with self.db.session() as s:
            stmt = update(HumanTask).where(HumanTask.id == human_task_id, HumanTask.status == "open")
            if expect_free:
                stmt = stmt.where(HumanTask.assignee.is_(None))
            if s.execute(stmt.values(assignee=user)).rowcount == 0:
                ht = self._open_task(s, human_task_id)
                if ht.assignee == user:
                    return
                raise Conflict(f"the task is already claimed by {ht.assignee}")
            ht = s.get(HumanTask, human_task_id)
            journal.record(s, ht.instance_id, event, actor=actor, task_spec=ht.spec_name,
                           details={"assignee": user})

    def _open_task(self, s: Session, human_task_id: int) -> HumanTask:
        ht = s.get(HumanTask, human_task_id, populate_existing=True)
        if ht is None:
            raise NotFound(f"task {human_task_id} does not exist")
        if ht.status != "open":
            raise Conflict("the task has already been completed or is no longer active")
        return ht

    def _human_task_instance(self, human_task_id: int) -> int:
        with self.db.session() as s:
            instance_id = s.scalar(select(HumanTask.instance_id).where(HumanTask.id == human_task_id))
        if instance_id is None:
            raise NotFound(f"task {human_task_id} does not exist")
        return instance_id

    # ---------------------------------------------------------------- messages
    def deliver_message(self, name: str, correlation: str, payload: dict[str, Any] | None = None,
                        actor: str | None = None) -> InstanceInfo:
        """Deliver a named message to the instance with this business key that waits for it."""
        with self.db.session() as s:
            instance_id = s.scalar(select(MessageSubscription.instance_id).where(
                MessageSubscription.message_name == name, MessageSubscription.correlation == correlation))
        if instance_id is None:
            raise UndeliverableMessage(f"no instance with key {correlation!r} waits for message {name!r}")

        def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork) -> None:
            if inst.suspended_at is not None:
                held.hold(s, inst.id, wf, name, payload, actor)
            else:
                _catch_message(s, inst.id, wf, name, payload, actor)

        return self._advance(instance_id, action, actor)

    def release_held_messages(self, instance_id: int) -> int:
        """Deliver the messages held while the instance was suspended, oldest first; how many went in.

        Each one in a transaction of its own, as if it had just arrived: one the instance no longer waits
        for (a timer fired meanwhile) is journaled as undeliverable and dropped, and the rest go on.
        """
        delivered = 0
        for message_id in held.waiting(self.db, instance_id):
            def action(s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork,
                       message_id: int = message_id) -> None:
                nonlocal delivered
                message = held.take(s, message_id)
                if message is None or inst.suspended_at is not None or inst.completed:
                    return
                try:
                    _catch_message(s, inst.id, wf, message.message_name, message.payload, message.actor)
                    delivered += 1
                except UndeliverableMessage as exc:
                    journal.record(s, inst.id, "message_undeliverable", actor="engine", message=message.message_name,
                                   details={"error": str(exc), "held": True})

            self._advance(instance_id, action, "engine")
        return delivered

    # ------------------------------------------------------------------ timers
    def fire_timers(self, s: Session, instance_id: int, task_guids: list[str], post: _Advance) -> None:
        """Fire due timers of one instance inside the caller's (scheduler's) transaction."""
        inst = self._lock(s, instance_id)
        if inst is None or inst.completed or inst.suspended_at is not None:
            return
        wf = self._load(s, inst)
        tasks = {g: wf.get_task_from_id(UUID(g)) for g in task_guids}
        before = {g: timer_value(t) for g, t in tasks.items() if t is not None}
        cycles_before = {g: _cycles_left(t) for g, t in tasks.items() if t is not None}
        with unit_of_work() as uow:
            wf.refresh_timers()
            wf.do_engine_steps()
            not_fired = []
            for guid, task in tasks.items():
                if task is None:
                    continue
                if task.state == TaskState.WAITING and timer_value(task) == before.get(guid):
                    not_fired.append(guid)  # clock skew: the engine does not consider it due yet
                    continue
                for _ in range(_occurrences(cycles_before.get(guid), task)):
                    journal.record(s, inst.id, "timer_fired", actor="scheduler", task_spec=task.task_spec.name,
                                   message=task.task_spec.bpmn_name)
            self._save(s, inst, wf, uow, "scheduler", post)
        if not_fired:
            # Its row keeps a past due time; push it a little so passes do not spin on it.
            s.flush()
            s.execute(update(Timer).where(Timer.instance_id == inst.id, Timer.task_guid.in_(not_fired))
                      .values(due_at=utcnow() + timedelta(seconds=5)))

    # --------------------------------------------------------- service results
    def apply_service_outcomes(self, instance_id: int, outcomes: list[ServiceOutcome],
                               inline_job_id: str | None = None,
                               warm: WarmWorkflows | None = None) -> list[QueuedCall]:
        """Complete or fail service tasks that are still STARTED; return calls to run inline next.

        All the outcomes given are applied in one restore, step and save: the calls a save created run
        together in one job, so results that arrive together are one event for the instance. `warm`
        (a job's own) keeps what the round committed for the job's next round, which then skips the restore
        and, when nobody else wrote the instance in between, the lock's own statement (engine/warm.py).
        """
        successes = all(o.ok and o.task_guid not in (None, DETACHED) for o in outcomes)
        kept = warm.take_unlocked(instance_id, [o.call_id for o in outcomes]) if warm and successes else None
        if kept is not None:
            try:
                return self._round(instance_id, outcomes, inline_job_id, warm, kept)
            except (GateRefused, StaleInstance):
                pass  # another writer came in between: the round locks the row and restores the workflow
        return self._round(instance_id, outcomes, inline_job_id, warm, None)

    def _round(self, instance_id: int, outcomes: list[ServiceOutcome], inline_job_id: str | None,
               warm: WarmWorkflows | None, kept: Kept | None) -> list[QueuedCall]:
        post = _Advance()
        version: list[int] = []
        with self.db.session() as s:
            opened = (self._open_unchanged(s, instance_id, outcomes, kept) if kept is not None
                      else self._open_locked(s, instance_id, outcomes, warm))
            if opened is None:
                return []
            inst, wf, finished, outcomes, restored = opened
            with unit_of_work() as uow:
                for outcome in outcomes:
                    if outcome.call_id in finished:
                        self._complete_finished(s, inst, wf, uow, outcome, finished[outcome.call_id])
                    else:
                        self._apply_outcome(s, inst, wf, outcome)
                wf.do_engine_steps()
                self._save(s, inst, wf, uow, "worker", post, inline_job_id=inline_job_id, restored=restored,
                           on_version=version.append)
        if warm is not None and not inst.completed:
            warm.keep(instance_id, Kept(inst.state, wf, inst, committed_row(inst), version[-1] if version else None,
                                        {c.id: KeptCall(c.operator, c.task_spec, 0) for c in post.inline
                                         if c.id is not None}))
        self._after_commit(post)
        return [QueuedCall(c.id, c.instance_id, c.operator, c.params or {}, c.task_guid) for c in post.inline
                if c.id is not None]

    def _open_locked(self, s: Session, instance_id: int, outcomes: list[ServiceOutcome],
                     warm: WarmWorkflows | None) -> _Opened | None:
        """The usual start of a round: the instance locked and read afresh (None: nothing to do)."""
        # The successes' rows are finished with the lock, before the workflow is at hand: one whose task is
        # not STARTED after all is undone by `_complete_finished`.
        inst, finished = lock_finishing(s, instance_id, [o.call_id for o in outcomes
                                                         if o.ok and o.task_guid not in (None, DETACHED)])
        if inst is None:
            return None
        if inst.suspended_at is not None:  # suspended while the operator ran: it runs again on resume
            park_calls(s, [o.call_id for o in outcomes])
            return None
        outcomes = [o for o in outcomes if o.task_guid != DETACHED or not self._settle_detached(s, inst, o)]
        if not outcomes:
            return None
        wf = warm.take(inst.id, inst.state) if warm is not None else None
        restored = wf is None
        if wf is None:
            wf = self._load(s, inst)
        return _Opened(inst, wf, finished, outcomes, restored)

    def _open_unchanged(self, s: Session, instance_id: int, outcomes: list[ServiceOutcome], kept: Kept) -> _Opened:
        """A round on what this job committed or read of the instance, without the lock's statement: the save's
        statement locks the row only if it is still that version (engine/settle.py), or refuses (GateRefused);
        StaleInstance when the kept workflow is not waiting for these results."""
        inst = reattach(s, kept.instance, kept.row or {})
        calls = {o.call_id: (kept.calls or {})[o.call_id] for o in outcomes}
        finish_if_unchanged(s, instance_id, kept.version or 0, {cid: call.attempts for cid, call in calls.items()})
        wf = kept.workflow if kept.workflow is not None else self._load(s, inst)
        for outcome in outcomes:
            task = wf.get_task_from_id(UUID(outcome.task_guid or ""))
            if task is None or task.state != TaskState.STARTED:
                raise StaleInstance(f"task {outcome.task_guid} of instance {instance_id} is not waiting for it")
        finished = {cid: FinishedCall(call.attempts + 1, call.operator, call.task_spec) for cid, call in calls.items()}
        return _Opened(inst, wf, finished, outcomes, kept.workflow is None)

    def _complete_finished(self, s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork,
                           out: ServiceOutcome, row: FinishedCall | None) -> None:
        """Complete the task of a success whose outbox row `lock_finishing` has just finished (None: another
        run of the same job finished it first, and there is nothing to do)."""
        if row is None:
            return
        task = wf.get_task_from_id(UUID(out.task_guid or ""))
        if task is None or task.state != TaskState.STARTED:  # ended before the round, or by an earlier result
            cancel_finished(s, out.call_id)
            return
        task.data[task.task_spec.result_variable] = self.serializer.round_trip(out.result)
        task.complete()
        uow.settled_calls.add(out.task_guid or "")
        journal.record(s, inst.id, "service_completed", actor="worker", task_spec=row.task_spec,
                       details={"operator": row.operator, "attempt": row.attempts})

    def _settle_detached(self, s: Session, inst: ProcessInstance, out: ServiceOutcome) -> bool:
        """Finish or fail a call of no task (DetachedCall): only its row changes, never the workflow."""
        call = s.get(ServiceCall, out.call_id, populate_existing=True)
        if call is None or call.status != "queued":
            return True
        call.attempts += 1
        if out.ok:
            call.status, call.finished_at, call.last_error = "done", utcnow(), None
            journal.record(s, inst.id, "service_completed", actor="worker", task_spec=call.task_spec,
                           details={"operator": call.operator, "attempt": call.attempts})
        else:
            self._fail_call(s, inst, None, None, call, out)
        return True

    def _apply_outcome(self, s: Session, inst: ProcessInstance, wf: BpmnWorkflow, out: ServiceOutcome) -> None:
        call = s.get(ServiceCall, out.call_id, populate_existing=True)
        if call is None or call.status != "queued":
            return
        task = wf.get_task_from_id(UUID(call.task_guid))
        now = utcnow()
        if task is None or task.state != TaskState.STARTED:
            call.status, call.finished_at = "cancelled", now
            return
        call.attempts += 1
        if out.ok:
            task.data[task.task_spec.result_variable] = self.serializer.round_trip(out.result)
            task.complete()
            call.status, call.finished_at, call.last_error = "done", now, None
            journal.record(s, inst.id, "service_completed", actor="worker", task_spec=call.task_spec,
                           details={"operator": call.operator, "attempt": call.attempts})
            return
        self._fail_call(s, inst, wf, task, call, out)

    def _fail_call(self, s: Session, inst: ProcessInstance, wf: BpmnWorkflow | None, task: Any, call: ServiceCall,
                   out: ServiceOutcome) -> None:
        op = get_operator(call.operator)
        policy = op.retry if op else None
        call.last_error = f"{out.error_code or 'error'}: {out.error}"
        details = {"operator": call.operator, "attempt": call.attempts, "error": call.last_error}
        if policy and out.retryable and call.attempts < policy.max_attempts:
            call.status = "retry_wait"
            call.next_attempt_at = utcnow() + timedelta(seconds=policy.delay_for(call.attempts, out.retry_after))
            journal.record(s, inst.id, "service_failed", actor="worker", task_spec=call.task_spec,
                           details={**details, "retry_at": call.next_attempt_at.isoformat()})
            return
        code = (op.error_code if op else None) or out.error_code or "service_failed"
        if op and op.on_exhausted == "error" and task is not None and self._throw_error(wf, task, code,
                                                                                         call.last_error):
            call.status, call.finished_at = "failed", utcnow()
            journal.record(s, inst.id, "service_error_raised", actor="worker", task_spec=call.task_spec,
                           details={**details, "code": code})
            return
        call.status = "incident"
        journal.record(s, inst.id, "incident", actor="worker", task_spec=call.task_spec, details=details)
        log.warning("service call %s (%s) of instance %s is an incident after %s attempt(s): %s",
                    call.id, call.operator, inst.id, call.attempts, call.last_error)

    @staticmethod
    def _throw_error(wf: BpmnWorkflow, task: Any, code: str, message: str | None) -> bool:
        """Raise a BPMN error on the task if a boundary event catches it; False when nothing would.

        The catcher is looked for on the task itself, then on each enclosing activity, innermost first:
        the multi-instance task an instance belongs to, then each enclosing subprocess (a boundary event
        on a subprocess catches what its inner tasks raise).
        """
        scope = task
        while scope is not None:
            catcher = Runtime._error_catcher(wf, scope, code)
            if catcher is not None:
                # The thrown definition must be of the catcher's (spiff) class for it to match.
                thrown = copy.copy(catcher.task_spec.event_definition)
                thrown.code = code
                wf.top_workflow.catch(BpmnEvent(thrown, payload={"error": message}, target=catcher.workflow))
                return True
            scope = _enclosing_scope(scope)
        return False

    @staticmethod
    def _error_catcher(wf: BpmnWorkflow, task: Any, code: str) -> Any:
        for waiting in list(wf.event_manager.tasks.values()):
            definition = getattr(waiting.task_spec, "event_definition", None)
            # Only boundary events attached to this very task (its siblings under the boundary split).
            if waiting.parent is not task.parent or not isinstance(definition, ErrorEventDefinition):
                continue
            if definition.code in (None, code):
                return waiting
        return None

    # ---------------------------------------------------------------- queries
    def instance(self, instance_id: int) -> InstanceInfo:
        with self.db.session() as s:
            inst = s.get(ProcessInstance, instance_id)
            if inst is None:
                raise NotFound(f"instance {instance_id} does not exist")
            return _info(inst)

    def workflow_data(self, instance_id: int, session: Session | None = None) -> dict[str, Any]:
        """The data of the instance as its last completed task left it (for case pages).

        Pass the caller's session to read inside its transaction (on SQLite a second transaction
        would wait for the caller's own lock).
        """
        if session is not None:
            return self._last_data(session, instance_id)
        with self.db.session() as s:
            return self._last_data(s, instance_id)

    def _last_data(self, s: Session, instance_id: int) -> dict[str, Any]:
        inst = s.get(ProcessInstance, instance_id)
        if inst is None:
            raise NotFound(f"instance {instance_id} does not exist")
        wf = self._load(s, inst)
        # Parallel branches each carry their own copy: merge them in completion order, latest wins.
        data: dict[str, Any] = dict(wf.task_tree.data)
        for task in sorted(wf.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change):
            data.update(task.data)
        return data

    def erase_data(self, s: Session, instance_id: int, actor: str | None) -> bool:
        """Empty the data every task of a finished instance carries (a retention policy's minimisation).

        The path, status and journal stay; what the process was given and computed goes. Only finished
        instances: a running one still needs its data. Returns whether the instance was erased.
        """
        inst = self._lock(s, instance_id)
        if inst is None or not inst.completed:
            return False
        wf = self._load(s, inst)
        wf.data.clear()
        for sub in wf.subprocesses.values():
            sub.data.clear()
        for task in wf.get_tasks():
            task.data = {}
        inst.state = self.serializer.dump_state(wf)
        journal.record(s, inst.id, "data_erased", actor=actor)
        return True

    # --------------------------------------------------------------- internals
    def _advance(self, instance_id: int, action: Callable, actor: str | None) -> InstanceInfo:
        post = _Advance()
        with self.db.session() as s:
            inst = self._lock(s, instance_id)
            if inst is None:
                raise NotFound(f"instance {instance_id} does not exist")
            wf = self._load(s, inst)
            with unit_of_work() as uow:
                action(s, inst, wf, uow)
                self._save(s, inst, wf, uow, actor, post)
            info = _info(inst)
        self._after_commit(post)
        return info

    def _lock(self, s: Session, instance_id: int) -> ProcessInstance | None:
        return lock_instance(s, instance_id)

    def _load(self, s: Session, inst: ProcessInstance) -> BpmnWorkflow:
        bundle = self.specs.bundle(s, inst.version_id)
        wf = self.serializer.load_state(inst.state, bundle)
        wf.script_engine = self.script_engine
        return wf

    def _save(self, s: Session, inst: ProcessInstance, wf: BpmnWorkflow, uow: UnitOfWork, actor: str | None,
              post: _Advance, inline_job_id: str | None = None, *, restored: bool = True,
              on_version: Callable[[int], None] | None = None) -> None:
        """Write the state and everything derived from it. `restored`: whether this transaction restored
        the workflow from the stored state (counted per instance, see engine/advances.py); `on_version`
        receives the row's version once written (PostgreSQL)."""
        snap: Snapshot = snapshot(wf)
        job_id = inline_job_id or new_job_id()
        since, human_ids = steps.stamp_of(inst), dict((inst.projection or {}).get("human", {}))
        counts = advances.counted(inst.projection, restored)
        with s.no_autoflush:  # nothing of the instance needs to be written before the commit
            # Its reads come first: after them nothing of a save runs a statement when it has no user tasks,
            # timers or messages to sync (the save's rows then go out as one statement).
            stamp = steps.record_completed(s, inst, wf, since, human_ids)
        writer = ProjectionWriter(s, inst, self._lane_roles(s), actor, job_id, uow.settled_calls)
        projection, new_calls = writer.apply(snap)
        new_calls += [_detached_row(s, inst, call, job_id) for call in uow.detached_calls]
        self._queue_calls(new_calls, post, inline_job_id, job_id)
        for event in wf.get_events():
            definition = event.event_definition
            if isinstance(definition, MessageEventDefinition):
                post.thrown.append((inst.id, definition.name, inst.business_key, dict(event.payload or {})))
        status = inst.status
        for passed in uow.statuses:  # a status passed through within one step is still part of the history
            if passed != status:
                journal.record(s, inst.id, "status_changed", actor=actor, message=passed,
                               details={"from": status, "to": passed})
                status = passed
        for event, message, details in uow.notes:
            journal.record(s, inst.id, event, actor=actor, message=message, details=details or None)
        completed, ended_at = inst.completed, inst.ended_at
        if wf.completed and not completed:
            completed, ended_at = True, utcnow()
            journal.record(s, inst.id, "completed", actor=actor)
        # Written with the transaction's pending rows (engine/pending_rows.py): on PostgreSQL the instance's
        # UPDATE, its new outbox rows, journal and steps are one statement instead of the ORM's flush and two.
        pending_rows.update(s, inst, {
            "state": self.serializer.dump_state(wf), "updated_at": utcnow(), "status": status,
            "completed": completed, "ended_at": ended_at,
            "projection": {**projection, steps.STAMP: stamp, advances.KEY: counts}}, on_version=on_version)

    def _queue_calls(self, calls: Sequence[ServiceCall | NewCall], post: _Advance, inline_job_id: str | None,
                     job_id: str | None = None) -> None:
        if not calls:
            return
        now = utcnow()
        job_id = inline_job_id or job_id or new_job_id()
        timeout = max((op.timeout for c in calls if (op := get_operator(c.operator))), default=30.0)
        for call in calls:
            if call.job_id != job_id:  # new rows were stamped before their INSERT
                call.job_id, call.dispatched_at = job_id, now
        if inline_job_id:
            post.inline.extend(calls)
        else:
            post.jobs.append((job_id, calls, timeout))

    _lane_cache: dict[str, str] | None = None

    def _lane_roles(self, s: Session) -> dict[str, str]:
        if self._lane_cache is None:
            self._lane_cache = {r.lane: r.role for r in s.scalars(select(LaneRole))}
        return self._lane_cache

    def forget_lane_roles(self) -> None:
        self._lane_cache = None

    def _after_commit(self, post: _Advance) -> None:
        if self.dispatcher is not None:
            # A row without an id was rolled back with its savepoint (a scheduler's failed instance).
            self.dispatcher.push([JobRequest(job_id, ids, timeout) for job_id, calls, timeout in post.jobs
                                  if (ids := tuple(c.id for c in calls if c.id is not None))])
        for sender, name, correlation, payload in post.thrown:
            self._route_thrown(sender, name, correlation, payload)

    def _route_thrown(self, sender: int, name: str, correlation: str | None, payload: dict) -> None:
        """Messages thrown by a diagram go to the instance of the same case (business key) waiting for them.

        An undeliverable one is journaled on the sender, so it is visible rather than silently dropped.
        """
        try:
            if correlation is None:
                raise UndeliverableMessage("the sending instance has no business key")
            self.deliver_message(name, correlation, payload, actor="engine")
        except UndeliverableMessage as exc:
            log.warning("thrown message %s from instance %s is undeliverable: %s", name, sender, exc)
            with self.db.session() as s:
                journal.record(s, sender, "message_undeliverable", actor="engine", message=name,
                               details={"error": str(exc)})

    def wake_waiting_calls(self, last_error_like: str) -> int:
        """Make the retries that wait after an error matching `last_error_like` (SQL LIKE) due now: the
        dependency they wait for is known to answer again, so the scheduler's next pass re-queues them
        instead of leaving them to their backoff."""
        with self.db.session() as s:
            woken = s.execute(update(ServiceCall)
                              .where(ServiceCall.status == "retry_wait", ServiceCall.next_attempt_at > utcnow(),
                                     ServiceCall.last_error.like(last_error_like))
                              .values(next_attempt_at=utcnow())).rowcount
        return int(woken or 0)

    def requeue_calls(self, call_ids: list[int], *, statuses: tuple[str, ...] = ("queued",),
                      reset_attempts: bool = False, actor: str | None = None, reason: str | None = None) -> int:
        """Give calls a fresh RQ job (lost job, due retry, incident retried by an admin)."""
        post = _Advance()
        with self.db.session() as s:
            calls = list(s.scalars(select(ServiceCall).where(ServiceCall.id.in_(call_ids),
                                                             ServiceCall.status.in_(statuses))
                                   .with_for_update(skip_locked=True)))
            by_instance: dict[int, list[ServiceCall]] = {}
            for call in calls:
                if call.status == "incident":
                    journal.record(s, call.instance_id, "incident_retried", actor=actor, task_spec=call.task_spec,
                                   details={"reason": reason} if reason else None)
                call.status = "queued"
                if reset_attempts:
                    call.attempts = 0
                by_instance.setdefault(call.instance_id, []).append(call)
            for group in by_instance.values():
                self._queue_calls(group, post, None)
        self._after_commit(post)
        return len(calls)


def _detached_row(s: Session, inst: ProcessInstance, call: DetachedCall, job_id: str) -> NewCall:
    """The outbox row of a DetachedCall, written with the instance's state like a service task's."""
    return insert_call(s, inst.id, DETACHED, call.label, call.operator, call.params, job_id, utcnow())


def _catch_message(s: Session, instance_id: int, wf: BpmnWorkflow, name: str, payload: dict[str, Any] | None,
                   actor: str | None) -> None:
    """Hand a message to the task of `wf` that waits for it and run the engine on from there."""
    definition = next((d for t in wf.event_manager.tasks.values()
                       if (d := message_definition(t, name)) is not None), None)
    event = BpmnEvent(definition, payload=dict(payload or {}))
    if definition is None or wf.event_manager.catch(event, internal=False) == 0:
        raise UndeliverableMessage(f"instance {instance_id} no longer waits for message {name!r}")
    journal.record(s, instance_id, "message_delivered", actor=actor, message=name)
    wf.do_engine_steps()


def park_calls(s: Session, call_ids: list[int]) -> None:
    """Queued calls of a suspended instance wait, unrun, until it is resumed (engine/control.py)."""
    s.execute(update(ServiceCall).where(ServiceCall.id.in_(call_ids), ServiceCall.status == "queued")
              .values(status="suspended"))


def _cycles_left(task: Any) -> int | None:
    """Repetitions a cycle timer still has (None for other timers)."""
    value = task.internal_data.get("event_value")
    return value["cycles"] if isinstance(value, dict) and "cycles" in value else None


def _occurrences(cycles_before: int | None, task: Any) -> int:
    """How many times a timer fired in one pass: a late scheduler lets a cycle catch up several repetitions
    (SpiffWorkflow refreshes timers again at the end of its engine steps), each of which is journaled."""
    if cycles_before is None:
        return 1
    after = _cycles_left(task)
    return max(1, cycles_before - (after if after is not None else 0))


def _enclosing_scope(task: Any) -> Any:
    """The activity whose boundary events also catch what `task` raises: the multi-instance task that
    runs `task` as one of its instances, else the enclosing subprocess (None at the top level)."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask) \
            and parent.task_spec.task_spec == task.task_spec.name:
        return parent
    return _enclosing_subprocess_task(task)


def _enclosing_subprocess_task(task: Any) -> Any:
    """The subprocess task whose child workflow holds `task`, or None at the top level."""
    workflow = task.workflow
    parent = getattr(workflow, "parent_workflow", None)
    if parent is None:
        return None
    return parent.get_task_from_id(workflow.parent_task_id)


def _info(inst: ProcessInstance) -> InstanceInfo:
    return InstanceInfo(inst.id, inst.process_id, inst.version_id, inst.business_key, inst.status, inst.completed)
