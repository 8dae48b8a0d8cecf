"""Instance control in the engine (engine/control.py) on real workers and schedulers, on both backends:
a suspended instance's timers and service calls wait and go on after resume; a timer fired now or moved;
a cancelled instance closes every projection. Each action is journaled with the person and the reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from engine import journal
from engine.clock import aware, utcnow
from engine.control import InstanceControl
from engine.errors import Conflict, UndeliverableMessage
from engine.models import HeldMessage, MessageSubscription, ProcessInstance, Timer
from engine.scheduler import Scheduler
from tests.support.backend import wait_for
from tests.support.queries import calls, events, open_task, open_tasks

ACTOR = "user:1"


def _timers(services, instance_id: int) -> list[Timer]:
    with services.database.session() as s:
        return list(s.scalars(select(Timer).where(Timer.instance_id == instance_id)))


def _journal(services, instance_id: int, event: str) -> list[journal.JournalRecord]:
    with services.database.session() as s:
        return [r for r in journal.read(s, instance_id) if r.event == event]


def _start_demo(rt):
    return rt.start("engine_demo", {"applicant": "Иванов", "mode": "ok", "review_sla": "demo_review"},
                    business_key=f"C-{uuid.uuid4().hex[:8]}")


def _suspended_waiting_for_documents(services, control, reason: str):
    """A demo case approved at review, now waiting for the «docs_received» message, suspended for `reason`."""
    info = _start_demo(services.runtime)
    review = wait_for(lambda: open_task(services, info.id, "review"), timeout=60, message="the review task")
    services.runtime.complete_user_task(review.id, {"decision": "approve"}, "user:2")
    control.suspend(info.id, ACTOR, reason)
    return info


def test_a_timer_due_while_suspended_waits_and_fires_after_resume(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    info = rt.start("timers_fire_at", {"fire_at": (utcnow() + timedelta(seconds=1)).isoformat()})
    control.suspend(info.id, ACTOR, "проверка жалобы")
    scheduler = Scheduler(rt, services.redis)
    # A pass long after the due time: the suspended instance's timer is not even picked (other tests' cases in
    # the session's database may have timers due by then, so the pass's own count says nothing here).
    scheduler.fire_due_timers(now=utcnow() + timedelta(days=1))
    assert not rt.instance(info.id).completed and len(_timers(services, info.id)) == 1
    assert "timer_fired" not in events(services, info.id)
    with pytest.raises(Conflict):
        control.suspend(info.id, ACTOR, "ещё раз")

    control.resume(info.id, ACTOR, "жалоба рассмотрена")
    cluster.scheduler()
    wait_for(lambda: rt.instance(info.id).completed, timeout=90, message="the overdue timer to fire after resume")
    ev = events(services, info.id)
    assert ev.index("instance_suspended") < ev.index("instance_resumed") < ev.index("timer_fired")
    [suspended] = _journal(services, info.id, "instance_suspended")
    assert suspended.actor == ACTOR and suspended.message == "проверка жалобы"


def test_service_calls_of_a_suspended_instance_wait_for_resume(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    info = _start_demo(rt)  # its lookup call is queued, its job pushed to RQ; no worker yet
    control.suspend(info.id, ACTOR, "пауза")
    assert [c.status for c in calls(services, info.id)] == ["suspended"]
    cluster.worker()
    queue = Queue(backend.settings().queue_name, connection=services.redis)
    wait_for(lambda: queue.count == 0 and queue.started_job_registry.count == 0, timeout=60,
             message="the worker to take the job")
    assert [c.status for c in calls(services, info.id)] == ["suspended"]  # taken, not run
    assert "service_completed" not in events(services, info.id)

    control.resume(info.id, ACTOR, "продолжить")
    wait_for(lambda: open_task(services, info.id, "review"), timeout=60, message="the lookup after resume")
    assert [c.status for c in calls(services, info.id)] == ["done"]


def test_a_user_task_of_a_suspended_instance_cannot_be_completed(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    cluster.worker()
    info = _start_demo(rt)
    review = wait_for(lambda: open_task(services, info.id, "review"), timeout=60, message="the review task")
    control.suspend(info.id, ACTOR, "пауза")
    with pytest.raises(Conflict):
        rt.complete_user_task(review.id, {"decision": "approve"}, "user:2")
    control.resume(info.id, ACTOR, "продолжить")
    with pytest.raises(Conflict):
        control.resume(info.id, ACTOR, "ещё раз")


def test_a_timer_fired_now_and_one_moved(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    far = (utcnow() + timedelta(days=30)).isoformat()
    first = rt.start("timers_fire_at", {"fire_at": far})
    second = rt.start("timers_fire_at", {"fire_at": far})

    [row] = _timers(services, first.id)
    control.fire_timer(row.id, ACTOR, "заявитель попросил не ждать")
    assert rt.instance(first.id).completed and _timers(services, first.id) == []
    [fired] = _journal(services, first.id, "timer_fired")
    assert fired.actor == ACTOR and fired.details == {"reason": "заявитель попросил не ждать", "manual": True}

    [row] = _timers(services, second.id)
    new_due = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    control.reschedule_timer(row.id, new_due, ACTOR, "праздники")
    [moved] = _timers(services, second.id)
    assert aware(moved.due_at) == new_due
    [entry] = _journal(services, second.id, "timer_rescheduled")
    assert entry.details["reason"] == "праздники" and entry.details["to"] == new_due.isoformat()
    # Moved into the past: the real scheduler fires it from its new row.
    control.reschedule_timer(moved.id, utcnow() - timedelta(minutes=1), ACTOR, "срок истёк")
    cluster.scheduler()
    wait_for(lambda: rt.instance(second.id).completed, timeout=90, message="the moved timer to fire")


def test_a_cancelled_instance_closes_everything(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    cluster.worker()
    info = _start_demo(rt)
    wait_for(lambda: open_task(services, info.id, "review"), timeout=60, message="the review task")
    assert _timers(services, info.id)  # the review's SLA timer
    control.cancel(info.id, ACTOR, "заявитель отозвал заявление")
    after = rt.instance(info.id)
    assert after.completed and after.status == "cancelled"
    assert open_tasks(services, info.id) == [] and _timers(services, info.id) == []
    with services.database.session() as s:
        assert s.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == info.id)).all() == []
    ev = events(services, info.id)
    assert ev.index("instance_cancelled") < ev.index("task_cancelled") and ev[-1] == "completed"
    with pytest.raises(Conflict):
        control.cancel(info.id, ACTOR, "ещё раз")


def test_a_message_to_a_suspended_instance_waits_for_the_resume(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    cluster.worker()
    info = _suspended_waiting_for_documents(services, control, "проверка жалобы")

    rt.deliver_message("docs_received", info.business_key, {"docs": ["scan.pdf"]}, actor="citizen-1")
    assert not rt.instance(info.id).completed
    ev = events(services, info.id)
    assert "message_held" in ev and "message_delivered" not in ev
    with pytest.raises(UndeliverableMessage):  # the first one already answered the process
        rt.deliver_message("docs_received", info.business_key, {"docs": []}, actor="citizen-1")
    with pytest.raises(UndeliverableMessage):  # nothing in the process waits for this one
        rt.deliver_message("appeal_filed", info.business_key, {}, actor="citizen-1")

    control.resume(info.id, ACTOR, "жалоба рассмотрена")
    wait_for(lambda: rt.instance(info.id).completed, timeout=60, message="the case to go on with the held message")
    ev = events(services, info.id)
    assert ev.index("message_held") < ev.index("instance_resumed") < ev.index("message_delivered")
    assert ev.count("message_delivered") == 1
    [delivered] = _journal(services, info.id, "message_delivered")
    assert delivered.actor == "citizen-1"
    with services.database.session() as s:
        assert s.scalars(select(HeldMessage).where(HeldMessage.instance_id == info.id)).all() == []


def test_messages_held_when_a_resume_died_before_delivering_them_are_delivered_by_the_scheduler(backend, cluster):
    services = backend.services
    rt, control = services.runtime, InstanceControl(services.runtime)
    cluster.worker()
    info = _suspended_waiting_for_documents(services, control, "пауза")
    rt.deliver_message("docs_received", info.business_key, {}, actor="citizen-1")
    with services.database.session() as s:  # the resume's commit, without the delivery that follows it
        s.execute(update(ProcessInstance).where(ProcessInstance.id == info.id).values(suspended_at=None))
    assert "message_delivered" not in events(services, info.id)
    assert Scheduler(rt, services.redis).release_held_messages() >= 1
    wait_for(lambda: rt.instance(info.id).completed, timeout=60, message="the case to go on")
    assert events(services, info.id).count("message_delivered") == 1
