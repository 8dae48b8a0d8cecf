"""Nothing is lost or done twice: SIGKILL of a worker, Redis flushed, racing completions, incidents."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from datetime import timedelta

import pytest
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus
from sqlalchemy import select

from engine.clock import utcnow
from engine.errors import Conflict, DataValidationError
from engine.incidents import list_incidents
from engine.models import ServiceCall
from engine.scheduler import Scheduler
from engine.worker_liveness import beat, dead_workers
from tasks.registries.operators import release_waiting_calls
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


def _taken_by(services, info, worker_name: str) -> ServiceCall:
    """The instance's queued call, its RQ job marked as started by the worker `worker_name` just now."""
    call = next(c for c in calls(services, info.id) if c.status == "queued")
    job = Job.fetch(call.job_id, connection=services.redis)
    job.worker_name, job.started_at = worker_name, utcnow()
    job.save()
    job.set_status(JobStatus.STARTED)
    return call


def test_a_job_whose_worker_stopped_beating_is_requeued_before_its_timeout(backend, cluster):
    """The reconciler re-queues the job of a worker whose heartbeat expired (killed, its host gone) without
    waiting for the operator's timeout, and leaves the job of a live worker, however long it runs."""
    services = backend.services
    alive, dead = f"alive-{uuid.uuid4().hex[:6]}.1", f"dead-{uuid.uuid4().hex[:6]}.2"
    running = _taken_by(services, _start_demo(services.runtime, "Живой"), alive)
    orphaned = _taken_by(services, _start_demo(services.runtime, "Брошенный"), dead)
    beat(services.redis, alive)
    beat(services.redis, dead, ttl=0.05)  # its last beat: then SIGKILL
    wait_for(lambda: dead_workers(services.redis, [alive, dead]) == {dead}, message="the dead worker's key to expire")
    # Seconds after the dispatch: past the grace, well within demo.lookup's 10 s timeout.
    scheduler = Scheduler(services.runtime, services.redis, reconcile_grace=1.0)
    scheduler.reconcile(now=utcnow() + timedelta(seconds=4))
    after = {c.id: c for c in calls(services, running.instance_id) + calls(services, orphaned.instance_id)}
    assert after[running.id].job_id == running.job_id  # a live worker's job is left alone
    assert after[orphaned.id].status == "queued" and after[orphaned.id].job_id != orphaned.job_id
    assert dead_workers(services.redis, [f"never-beat-{uuid.uuid4().hex[:6]}"]) == set()  # unknown: timeout rule


@pytest.mark.parametrize("round_", range(3))
def test_an_idle_worker_asked_to_stop_exits_within_dockers_grace(backend, cluster, round_):
    """SIGTERM ends an idle worker cleanly (exit 0) well within the 10 s docker gives before SIGKILL: RQ's
    command listener used to wait up to a minute for its next poll while the worker's teardown joined it.
    Three rounds: whether the listener was caught mid-poll depends on thread timing."""
    worker = cluster.worker()
    # Idle: waiting for jobs, so past RQ's start-up, which installs its signal handlers last.
    wait_for(lambda: any(w.name.endswith(f".{worker.pid}") and w.get_state() == WorkerStatus.IDLE
                         for w in Worker.all(connection=backend.services.redis)),
             timeout=60, message="the worker to wait for jobs")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0


def test_calls_waiting_for_a_registry_are_due_once_it_answers(backend, cluster):
    """When a registry answers again the calls that wait for it are released at once (a worker's client
    calls release_waiting_calls), not after their backoff; calls waiting for another registry keep waiting."""
    services = backend.services
    infos = [_start_demo(services.runtime, name) for name in ("ЕРЗЛ", "МВД")]
    later = utcnow() + timedelta(hours=1)
    waiting = {}
    with services.database.session() as s:
        for info, error in zip(infos, ("registry_unreachable: erzl: NewConnectionError", "registry_circuit_open: mvd: "
                                                                                    "circuit open"), strict=True):
            call = s.scalars(select(ServiceCall).where(ServiceCall.instance_id == info.id)).one()
            call.status, call.next_attempt_at, call.last_error = "retry_wait", later, error
            waiting[error.split(": ")[1]] = call.id
    assert release_waiting_calls("erzl", services.runtime) == 1
    Scheduler(services.runtime, services.redis).wake_retries()
    status = {c.id: c.status for info in infos for c in calls(services, info.id)}
    assert status[waiting["erzl"]] == "queued"  # re-queued by the scheduler's next pass
    assert status[waiting["mvd"]] == "retry_wait"


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
