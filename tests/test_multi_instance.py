"""Parallel multi-instance service tasks on the real runtime, with real worker processes.

One outbox row per instance, each run by a worker and completed under the instance lock; the
results are collected into the output collection; a BPMN error raised by one instance is caught
by an error boundary on the multi-instance task itself and cancels the other instances.
On PostgreSQL + Redis and on SQLite + embedded Redis (tests/workflows/multi_instance.bpmn).
"""

from __future__ import annotations

import uuid

from engine.runtime import ServiceOutcome
from tests.support.backend import wait_for
from tests.support.queries import calls, events


def _key() -> str:
    return f"MI-{uuid.uuid4().hex[:8]}"


def test_each_item_is_one_async_call_and_results_are_collected(backend, cluster):
    rt = backend.services.runtime
    info = rt.start("multi_instance_demo", {"count": 7}, business_key=_key())
    queued = calls(backend.services, info.id)
    assert len(queued) == 7 and {c.status for c in queued} == {"queued"}
    assert sorted(c.params["key"] for c in queued) == [str(i) for i in range(7)]
    assert rt.instance(info.id).status == "checking"

    cluster.worker()
    wait_for(lambda: rt.instance(info.id).completed, message="the multi-instance demo to complete")
    assert rt.instance(info.id).status == "done"
    assert {c.status for c in calls(backend.services, info.id)} == {"done"}
    data = rt.workflow_data(info.id)
    assert data["found"] == 7 and data["keys"] == list(range(7))
    assert events(backend.services, info.id).count("service_completed") == 7


def test_an_empty_collection_completes_without_calls(backend, cluster):
    rt = backend.services.runtime
    info = rt.start("multi_instance_demo", {"count": 0}, business_key=_key())
    assert calls(backend.services, info.id) == []
    assert rt.instance(info.id).completed and rt.instance(info.id).status == "done"
    assert rt.workflow_data(info.id)["found"] == 0


def test_an_error_of_one_instance_is_caught_on_the_multi_instance_task(backend, cluster):
    rt = backend.services.runtime
    # The failing instance retries (3 attempts) while the others finish; its BPMN error then
    # interrupts the task through the boundary event attached to the multi-instance task.
    info = rt.start("multi_instance_error", {"modes": ["ok", "fail", "ok"]}, business_key=_key())
    cluster.worker()
    cluster.scheduler()
    wait_for(lambda: rt.instance(info.id).completed, timeout=60, message="the error path to complete")
    assert rt.instance(info.id).status == "failed"
    by_mode = sorted((c.params["mode"], c.status) for c in calls(backend.services, info.id))
    assert by_mode == [("fail", "failed"), ("ok", "done"), ("ok", "done")]
    assert "service_error_raised" in events(backend.services, info.id)


def test_the_error_boundary_cancels_the_instances_still_running(backend):
    rt = backend.services.runtime
    info = rt.start("multi_instance_error", {"modes": ["ok", "fail", "ok"]}, business_key=_key())
    queued = calls(backend.services, info.id)
    failing = next(c for c in queued if c.params["mode"] == "fail")
    # What a worker brings back from an operator that cannot succeed: no retries, the BPMN error at once.
    rt.apply_service_outcomes(info.id, [ServiceOutcome(failing.id, False, error_code="unavailable",
                                                       error="registry unavailable", retryable=False)])
    assert rt.instance(info.id).completed and rt.instance(info.id).status == "failed"
    statuses = {c.id: c.status for c in calls(backend.services, info.id)}
    assert statuses.pop(failing.id) == "failed"
    assert set(statuses.values()) == {"cancelled"}
