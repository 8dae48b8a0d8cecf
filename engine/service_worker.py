"""Running operators for outbox rows: the body of every RQ job.

The operator runs outside any lock or transaction (a registry call may take seconds); only its
result is applied under the instance lock, and only if the task is still STARTED, so a job that
runs twice (after a SIGKILL or a Redis flush) changes nothing the second time.
Calls created by applying a result (the next service task of the same instance) run in the same
job straight away: their rows are already committed with this job's id, so a crash loses nothing.
"""

from __future__ import annotations

import logging
import signal
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import replace
from typing import Any

from sqlalchemy import ARRAY, BigInteger, any_, bindparam, inspect, literal_column, select
from sqlalchemy.orm import make_transient_to_detached

from .log_context import log_context
from .models import ProcessInstance, ServiceCall
from .operators import OperatorError, get_operator, running_call
from .runtime import QueuedCall, Runtime, ServiceOutcome, park_calls
from .settle import STILL_QUEUED
from .warm import Kept, KeptCall, WarmWorkflows, committed_row

log = logging.getLogger(__name__)
MAX_INLINE_ROUNDS = 50
# A job's first read, built once (every job runs it).
_JOB_CALLS = (select(ServiceCall.id, ServiceCall.instance_id, ServiceCall.operator, ServiceCall.params,
                     ServiceCall.task_guid, ProcessInstance.suspended_at, ProcessInstance.business_key)
              .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
              .where(ServiceCall.id.in_(bindparam("ids", expanding=True)), STILL_QUEUED))
# The same on PostgreSQL, with what a round without the lock's statement needs: the calls' task specs and
# attempts, the instance's row and its version. Plain Core: the instance is built from its columns
# (`_detached_instance`), which costs a job less than an ORM session's load.
_INSTANCE_ATTRS = [(attr.key, attr.columns[0]) for attr in inspect(ProcessInstance).column_attrs]
_JOB_CALLS_AND_ROWS = (
    select(*_JOB_CALLS.selected_columns, ServiceCall.task_spec, ServiceCall.attempts,
           literal_column("process_instance.xmin::text::bigint"), *[column for _, column in _INSTANCE_ATTRS])
    .join(ProcessInstance, ProcessInstance.id == ServiceCall.instance_id)
    .where(ServiceCall.id == any_(bindparam("ids", type_=ARRAY(BigInteger))), STILL_QUEUED))


class OperatorTimeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float):
    """Enforce an operator's timeout when running in the main thread (RQ SimpleWorker)."""
    try:
        previous = signal.signal(signal.SIGALRM, _raise_timeout)
    except ValueError:  # not the main thread: rely on the operator's own I/O timeouts
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raise_timeout(*_: Any) -> None:
    raise OperatorTimeout("operator timed out")


def run_operator(call_id: int, operator_name: str, params: dict[str, Any]) -> ServiceOutcome:
    op = get_operator(operator_name)
    if op is None:
        return ServiceOutcome(call_id, False, error_code="unknown_operator",
                              error=f"operator {operator_name!r} is not registered in this worker",
                              retryable=True)
    try:
        with running_call(call_id):
            return ServiceOutcome(call_id, True, result=op.func(**params))
    except OperatorError as exc:
        return ServiceOutcome(call_id, False, error_code=exc.code, error=str(exc), retryable=exc.retryable,
                              retry_after=exc.retry_after)
    except Exception as exc:
        log.warning("operator %s failed: %s", operator_name, exc)
        return ServiceOutcome(call_id, False, error_code=type(exc).__name__, error=str(exc))


class ServiceWorker:
    def __init__(self, runtime: Runtime, threads: int = 8) -> None:
        self.runtime = runtime
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="operator")

    def run(self, call_ids: list[int], job_id: str | None) -> int:
        """Run the calls and their same-instance successors; returns how many operators ran.

        Each round applies all of an instance's results at once; the workflow a round saved stays in
        memory for the next round of the same instance (engine/warm.py), so a chain restores it once.
        """
        ran = 0
        rounds = 1
        warm = WarmWorkflows()
        groups, cases = self._load(call_ids, warm)  # chained calls belong to the same instances
        while groups and rounds <= MAX_INLINE_ROUNDS:
            rounds += 1
            chained: list[QueuedCall] = []
            for instance_id, calls in groups.items():
                with log_context(case_number=cases.get(instance_id)):
                    outcomes = [replace(o, task_guid=c.task_guid)
                                for c, o in zip(calls, self._execute(calls), strict=True)]
                    ran += len(outcomes)
                    chained += self.runtime.apply_service_outcomes(instance_id, outcomes, inline_job_id=job_id,
                                                                   warm=warm)
            # The chain's rows were committed by the apply that created them: no need to read them back.
            groups = _by_instance(chained)
        if groups:  # too long a chain for one job: hand the rest back to the queue
            self.runtime.requeue_calls([c.id for calls in groups.values() for c in calls])
        return ran

    def _load(self, call_ids: list[int], warm: WarmWorkflows
              ) -> tuple[dict[int, list[QueuedCall]], dict[int, str | None]]:
        """Read the job's calls, and the business keys of their instances so each log line names the case
        it is about. Calls already finished (a duplicate job) are skipped without running, and those of
        a suspended instance are parked until it is resumed.

        On PostgreSQL the read brings each instance's row and version along, kept in `warm`: the first round
        then needs no lock statement of its own (engine/warm.py) - the row is read here anyway, outside any
        transaction, instead of under the lock after the operators ran."""
        sqlite = self.runtime.db.is_sqlite
        with self.runtime.db.reader(own=True) as conn:  # the job's first statement: one round trip
            rows = conn.execute(_JOB_CALLS if sqlite else _JOB_CALLS_AND_ROWS, {"ids": call_ids}).all()
        held = [row.id for row in rows if row.suspended_at is not None]
        if held:
            with self.runtime.db.session() as s:
                park_calls(s, held)
        ready = [row for row in rows if row.suspended_at is None]
        if not sqlite:
            _keep_rows(warm, ready)
        cases = {row.instance_id: row.business_key for row in rows}
        return _by_instance([QueuedCall(cid, iid, op, params or {}, guid)
                             for cid, iid, op, params, guid, *_ in ready]), cases

    def _execute(self, calls: list[QueuedCall]) -> list[ServiceOutcome]:
        if len(calls) == 1:
            cid, op, params = calls[0].id, calls[0].operator, calls[0].params
            timeout = (o.timeout if (o := get_operator(op)) else 30.0)
            try:
                with _deadline(timeout):
                    return [run_operator(cid, op, params)]
            except OperatorTimeout:
                return [ServiceOutcome(cid, False, error_code="timeout", error="operator timed out")]
        # Each operator thread runs in a copy of this context: its log lines keep the job and case.
        futures = [self.pool.submit(copy_context().run, run_operator, c.id, c.operator, c.params) for c in calls]
        outcomes = []
        for call, fut in zip(calls, futures, strict=True):
            cid = call.id
            timeout = (o.timeout if (o := get_operator(call.operator)) else 30.0)
            try:
                outcomes.append(fut.result(timeout=timeout))
            except TimeoutError:
                outcomes.append(ServiceOutcome(cid, False, error_code="timeout", error="operator timed out"))
        return outcomes


def _keep_rows(warm: WarmWorkflows, rows: list[Any]) -> None:
    """Keep each instance's row as `_JOB_CALLS_AND_ROWS` read it with the job's calls."""
    calls: dict[int, dict[int, KeptCall]] = defaultdict(dict)
    instances: dict[int, tuple[int, tuple]] = {}
    for cid, iid, operator, _params, _guid, _suspended, _key, task_spec, attempts, version, *columns in rows:
        calls[iid][cid] = KeptCall(operator, task_spec, attempts)
        instances[iid] = (version, tuple(columns))
    for iid, (version, columns) in instances.items():
        inst = _detached_instance(columns)
        warm.keep(iid, Kept(inst.state, None, inst, committed_row(inst), version, calls[iid]))


def _detached_instance(columns: tuple) -> ProcessInstance:
    """The instance of a row read in plain Core, as if loaded and its session closed (engine/warm.py reattaches
    it to the round's session without a SELECT)."""
    inst = ProcessInstance(**{key: value for (key, _), value in zip(_INSTANCE_ATTRS, columns, strict=True)})
    make_transient_to_detached(inst)
    return inst


def _by_instance(calls: list[QueuedCall]) -> dict[int, list[QueuedCall]]:
    groups: dict[int, list[QueuedCall]] = defaultdict(list)
    for call in calls:
        groups[call.instance_id].append(call)
    return dict(groups)
