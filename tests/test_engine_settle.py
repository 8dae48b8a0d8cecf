"""Results that arrive together finish their outbox rows in one statement (engine/settle.py), and what the
engine promised of one row at a time still holds: a job run twice changes nothing the second time, and a
failure among successes is retried while the successes complete.

Three parallel instances of a multi-instance service task (tests/workflows/multi_instance.bpmn) give three
outbox rows of one instance, applied in one round as a worker applies a job's results.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from engine.clock import utcnow
from engine.models import ProcessInstance
from engine.runtime import ServiceOutcome
from tests.support.queries import calls, events


def _started(backend, count: int):
    rt = backend.services.runtime
    info = rt.start("multi_instance_demo", {"count": count}, business_key=f"SETTLE-{uuid.uuid4().hex[:8]}")
    return rt, info, sorted(calls(backend.services, info.id), key=lambda c: c.id)


def _state(backend, instance_id: int) -> str:
    with backend.services.database.session() as s:
        return s.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))


def test_a_round_of_results_applied_twice_changes_nothing_the_second_time(backend):
    rt, info, queued = _started(backend, 3)
    outcomes = [ServiceOutcome(c.id, True, result={"found": True, "key": str(i)}, task_guid=c.task_guid)
                for i, c in enumerate(queued)]
    rt.apply_service_outcomes(info.id, outcomes)
    after_first = (_state(backend, info.id), events(backend.services, info.id))
    assert rt.instance(info.id).completed
    assert after_first[1].count("service_completed") == 3

    rt.apply_service_outcomes(info.id, outcomes)  # the same job again (a SIGKILL after its commit, a Redis flush)

    assert (_state(backend, info.id), events(backend.services, info.id)) == after_first
    assert {(c.status, c.attempts) for c in calls(backend.services, info.id)} == {("done", 1)}
    assert rt.workflow_data(info.id)["keys"] == [0, 1, 2]


def test_a_failure_among_successes_waits_for_its_retry_while_the_successes_complete(backend):
    rt, info, queued = _started(backend, 3)
    failing = queued[1]
    rt.apply_service_outcomes(info.id, [
        ServiceOutcome(queued[0].id, True, result={"found": True, "key": "0"}, task_guid=queued[0].task_guid),
        ServiceOutcome(failing.id, False, error_code="unavailable", error="registry unavailable",
                       task_guid=failing.task_guid),
        ServiceOutcome(queued[2].id, True, result={"found": True, "key": "2"}, task_guid=queued[2].task_guid),
    ])
    rows = {c.id: (c.status, c.attempts) for c in calls(backend.services, info.id)}
    assert rows == {queued[0].id: ("done", 1), failing.id: ("retry_wait", 1), queued[2].id: ("done", 1)}
    assert not rt.instance(info.id).completed
    assert events(backend.services, info.id).count("service_completed") == 2

    rt.requeue_calls([failing.id], statuses=("retry_wait",))  # the scheduler's pass once it is due
    rt.apply_service_outcomes(info.id, [ServiceOutcome(failing.id, True, result={"found": True, "key": "1"},
                                                       task_guid=failing.task_guid)])
    assert rt.instance(info.id).completed
    assert {c.id: (c.status, c.attempts) for c in calls(backend.services, info.id)}[failing.id] == ("done", 2)
    assert rt.workflow_data(info.id)["keys"] == [0, 1, 2]


def test_results_for_a_suspended_instance_finish_nothing_and_wait_for_the_resume(backend):
    rt, info, queued = _started(backend, 2)
    with backend.services.database.session() as s:  # suspended while the operators ran, rows still queued
        s.execute(update(ProcessInstance).where(ProcessInstance.id == info.id).values(suspended_at=utcnow()))
    outcomes = [ServiceOutcome(c.id, True, result={"found": True, "key": str(i)}, task_guid=c.task_guid)
                for i, c in enumerate(queued)]
    before = _state(backend, info.id)

    assert rt.apply_service_outcomes(info.id, outcomes) == []

    assert {(c.status, c.attempts) for c in calls(backend.services, info.id)} == {("suspended", 0)}
    assert "service_completed" not in events(backend.services, info.id)
    assert _state(backend, info.id) == before
