"""Nothing is lost or done twice: SIGKILL of a worker, Redis flushed, racing completions, incidents."""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest
from rq import Queue

from engine.errors import Conflict, DataValidationError
from engine.incidents import list_incidents
from tests.support.backend import wait_for
from tests.support.queries import calls, events, open_task


def _start_demo(rt, applicant: str = "Иванов"):
    return rt.start("engine_demo", {"applicant": applicant, "mode": "ok", "review_sla": "demo_review"},
                    business_key=f"R-{uuid.uuid4().hex[:8]}")


def test_worker_killed_mid_job_loses_nothing(backend, cluster, tmp_path):
    marker = tmp_path / "slow-started"
    victim = cluster.worker(TEST_SLOW_MARKER=str(marker), TEST_SLOW_SECONDS="120")
    info = _start_demo(backend.services.runtime, "slow")
    wait_for(marker.exists, timeout=60, message="the operator to start in the first worker")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    cluster.worker(TEST_SLOW_MARKER=str(marker))
    cluster.scheduler()  # its reconciler sees the dead job and re-enqueues the call
    wait_for(lambda: open_task(backend.services, info.id, "review"), timeout=90,
             message="the call to be re-run after the SIGKILL")
    lookup = [c for c in calls(backend.services, info.id) if c.operator == "demo.lookup"]
    assert len(lookup) == 1 and lookup[0].status == "done"
    assert events(backend.services, info.id).count("service_completed") == 1


def test_redis_flushed_mid_flight_loses_nothing(backend, cluster):
    rt = backend.services.runtime
    infos = [_start_demo(rt, f"Заявитель {i}") for i in range(20)]
    redis = backend.services.redis
    queue = Queue(backend.services.settings.queue_name, connection=redis)
    assert queue.count >= 1
    # The embedded Redis is ours alone: FLUSHALL. The shared server: flush our own database number.
    if backend.kind == "embedded":
        redis.flushall()
    else:
        redis.flushdb()
    assert queue.count == 0
    cluster.worker()
    cluster.worker()
    cluster.scheduler()
    for info in infos:
        wait_for(lambda info=info: open_task(backend.services, info.id, "review"), timeout=90,
                 message=f"instance {info.id} to recover after the flush")
    for info in infos:
        assert events(backend.services, info.id).count("service_completed") == 1


def test_two_concurrent_completions_one_wins(backend, cluster):
    rt = backend.services.runtime
    cluster.worker()
    info = _start_demo(rt)
    review = wait_for(lambda: open_task(backend.services, info.id, "review"), message="review task")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(user: str) -> None:
        barrier.wait()
        try:
            rt.complete_user_task(review.id, {"decision": "approve", "comment": user}, user)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("operator-1", "operator-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert events(backend.services, info.id).count("task_completed") == 1


def test_completion_is_validated_against_the_task_schema(backend, cluster):
    rt = backend.services.runtime
    cluster.worker()
    info = _start_demo(rt)
    review = wait_for(lambda: open_task(backend.services, info.id, "review"), message="review task")
    with pytest.raises(DataValidationError) as err:
        rt.complete_user_task(review.id, {"decision": "maybe", "extra": 1}, "operator-1")
    assert {f.field for f in err.value.fields} >= {"decision"}
    assert open_task(backend.services, info.id, "review") is not None  # nothing changed
    assert "task_completed" not in events(backend.services, info.id)


def test_exhausted_retries_become_an_incident_an_admin_can_retry(backend, cluster, tmp_path):
    fixed = tmp_path / "fixed"
    cluster.worker(TEST_FIXED_MARKER=str(fixed))
    cluster.scheduler()
    rt = backend.services.runtime
    info = rt.start("incident_demo", {}, business_key=f"I-{uuid.uuid4().hex[:8]}")
    incident = wait_for(lambda: next((i for i in list_incidents(backend.services.database)
                                      if i["instance_id"] == info.id), None), timeout=60, message="incident")
    assert incident["attempts"] == 3 and "always fails" in incident["error"]
    fixed.write_text("ok")
    out = backend.backoffice("incidents", "retry", str(incident["id"]))
    assert f"incident {incident['id']}: requeued" in out.stdout
    wait_for(lambda: rt.instance(info.id).completed, timeout=60, message="completion after the retry")
    ev = events(backend.services, info.id)
    assert "incident" in ev and "incident_retried" in ev and ev[-1] == "completed"
