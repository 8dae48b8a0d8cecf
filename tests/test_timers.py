"""BPMN timers fired by real scheduler processes, on PostgreSQL + Redis and on SQLite + embedded Redis.

Diagrams (tests/workflows/timers_*.bpmn):
* timers_intermediate: an intermediate timer catch event, timeDuration "PT1H";
* timers_reminder: a user task with a non-interrupting boundary timer ("PT1H") that journals a reminder;
* timers_cycle: a user task with a non-interrupting boundary cycle timer ("R3/PT1H") that journals "tick";
* timers_fire_at: an intermediate timer whose timeDate is the data variable `fire_at`;
* timer_beside_service: an intermediate timer ("PT1H") on one branch, a service task on the other.

Nobody waits an hour: the tests move the clock of this process and of the scheduler processes forward
(tests/support/clock.py), and the timers fall due. Waiting is always `wait_for` on an observable
condition, with generous timeouts: the suite must pass on a loaded 2-core machine, where a scheduler
process alone takes seconds to start.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import aware, utcnow
from engine.models import JournalEntry, ProcessInstance, Timer
from engine.runtime import ServiceOutcome
from tests.support.backend import wait_for
from tests.support.clock import advance_clock_to
from tests.support.queries import calls, events, open_task, open_tasks

PAST = "2000-01-01T00:00:00+00:00"


def _timers(services, instance_id: int) -> list[Timer]:
    with services.database.session() as s:
        return list(s.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.id)))


def test_intermediate_duration_timer_fires_via_scheduler(backend, cluster):
    services = backend.services
    rt = services.runtime
    before = utcnow()
    info = rt.start("timers_intermediate", {})

    assert not info.completed
    [row] = _timers(services, info.id)
    assert row.task_spec == "wait"
    assert aware(row.due_at) >= before + timedelta(hours=1)  # "PT1H" counted from the start
    cluster.scheduler()
    advance_clock_to(aware(row.due_at))

    wait_for(lambda: rt.instance(info.id).completed, timeout=90, message="the 1 h timer to fire")
    assert rt.instance(info.id).status == "waited"
    ev = events(services, info.id)
    assert ev.count("timer_fired") == 1
    assert ev.index("timer_fired") < ev.index("completed")
    assert "timer_failed" not in ev
    assert _timers(services, info.id) == []


def test_non_interrupting_boundary_timer_reminds_and_task_stays_open(backend, cluster):
    services = backend.services
    rt = services.runtime
    info = rt.start("timers_reminder", {})
    work = open_task(services, info.id, "work")
    assert work is not None and work.role == "operator"
    # the boundary timer is the task's due date
    [row] = _timers(services, info.id)
    assert row.task_spec == "remind" and aware(work.due_at) == aware(row.due_at)
    cluster.scheduler()
    advance_clock_to(aware(row.due_at))

    wait_for(lambda: "reminder" in events(services, info.id), timeout=90, message="the reminder path")
    ev = events(services, info.id)
    assert ev.count("reminder") == 1 and ev.count("timer_fired") == 1
    assert "task_cancelled" not in ev
    # the original task is still the same open task; nothing else is waiting
    assert [(t.id, t.spec_name) for t in open_tasks(services, info.id)] == [(work.id, "work")]
    assert not rt.instance(info.id).completed
    assert _timers(services, info.id) == []

    done = rt.complete_user_task(work.id, {}, "operator-1")
    assert done.completed and done.status == "done"
    ev = events(services, info.id)
    assert ev.count("reminder") == 1 and ev.count("timer_fired") == 1
    assert ev[-1] == "completed"


def test_cycle_boundary_timer_fires_three_times(backend, cluster):
    services = backend.services
    rt = services.runtime
    info = rt.start("timers_cycle", {})
    work = open_task(services, info.id, "work")
    assert work is not None and len(_timers(services, info.id)) == 1
    cluster.scheduler()

    for tick in (1, 2, 3):  # an hour passes at a time: one tick each
        [row] = _timers(services, info.id)
        advance_clock_to(aware(row.due_at))
        wait_for(lambda n=tick: events(services, info.id).count("tick") >= n, timeout=90,
                 message=f"tick {tick} of the R3/PT1H cycle")

    def exhausted() -> bool:
        # After its last repetition the cycle leaves no timer row: nothing can fire any more.
        return events(services, info.id).count("tick") >= 3 and not _timers(services, info.id)

    wait_for(exhausted, timeout=120, message="the R3/PT1H cycle to end after three ticks")
    ev = events(services, info.id)
    assert ev.count("tick") == 3
    assert ev.count("timer_fired") == 3
    assert "task_cancelled" not in ev
    assert [(t.id, t.spec_name) for t in open_tasks(services, info.id)] == [(work.id, "work")]
    assert not rt.instance(info.id).completed

    assert rt.complete_user_task(work.id, {}, "operator-1").completed
    assert events(services, info.id).count("tick") == 3


def test_scheduler_started_late_catches_up_on_overdue_timers(backend, cluster):
    services = backend.services
    rt = services.runtime
    ids = [rt.start("timers_intermediate", {}).id for _ in range(5)]
    due = [aware(r.due_at) for i in ids for r in _timers(services, i)]
    assert len(due) == len(ids)

    # No scheduler runs: every timer becomes 2 s overdue; none may have fired by itself.
    advance_clock_to(max(due), margin=timedelta(seconds=2))
    assert utcnow() > max(due) + timedelta(seconds=2)
    for i in ids:
        assert not rt.instance(i).completed
        assert "timer_fired" not in events(services, i)
        assert len(_timers(services, i)) == 1

    cluster.scheduler()
    wait_for(lambda: all(rt.instance(i).completed for i in ids), timeout=120,
             message="the late scheduler to fire the overdue timers")
    for i in ids:
        assert events(services, i).count("timer_fired") == 1
        assert _timers(services, i) == []


def test_a_timer_fallen_due_before_another_save_of_its_instance_still_fires(backend, cluster):
    services = backend.services
    rt = services.runtime
    info = rt.start("timer_beside_service", {})
    [row] = _timers(services, info.id)
    [call] = calls(services, info.id)
    advance_clock_to(aware(row.due_at), margin=timedelta(seconds=2))

    # The other branch's call fails after the timer fell due, before any scheduler pass: the save steps the
    # engine, which finds the timer due at the end of its steps without running it. Its row must stay for the
    # scheduler to fire it: nothing else would ever step the instance again.
    rt.apply_service_outcomes(info.id, [ServiceOutcome(call.id, False, error_code="unavailable",
                                                       error="registry unavailable", task_guid=call.task_guid)])
    assert [c.status for c in calls(services, info.id)] == ["retry_wait"]
    assert [r.task_spec for r in _timers(services, info.id)] == ["wait"]
    assert "timer_fired" not in events(services, info.id)

    cluster.scheduler()
    wait_for(lambda: "timer_fired" in events(services, info.id), timeout=120,
             message="the scheduler to fire the due timer")
    assert _timers(services, info.id) == []
    rt.requeue_calls([call.id], statuses=("retry_wait",))  # the retry, once due
    rt.apply_service_outcomes(info.id, [ServiceOutcome(call.id, True, result={"found": True},
                                                       task_guid=call.task_guid)])
    assert rt.instance(info.id).completed and rt.instance(info.id).status == "both_done"
    assert events(services, info.id).count("timer_fired") == 1


@pytest.mark.slow
@pytest.mark.timeout(900)  # 10,000 instances created, then a margin of half that time waited: minutes, not 300 s
def test_ten_thousand_due_timers_fire_exactly_once_with_two_schedulers(backend, cluster):
    """10,000 instances whose timers all fall due at one moment; two schedulers compete for them."""
    services = backend.services
    rt = services.runtime
    db = services.database
    count = 10_000

    def start(fire_at: str) -> int:
        return rt.start("timers_fire_at", {"fire_at": fire_at}, owner="timers-test").id

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="create") as pool:
        # Calibrate the creation rate on a small batch whose timer is already past: these complete
        # inside start() and leave no timer row behind.
        calibration = 200
        t = time.monotonic()
        calibrated = list(pool.map(start, [PAST] * calibration))
        per_instance = (time.monotonic() - t) / calibration
        assert all(rt.instance(i).completed for i in calibrated[:5])

        margin = per_instance * count * 1.5 + 10.0
        fire_at = datetime.now(UTC) + timedelta(seconds=margin)
        ids = list(pool.map(start, [fire_at.isoformat()] * count))
    first, last = min(ids), max(ids)
    assert len(set(ids)) == count

    # Nothing is due yet (no scheduler runs anyway): every instance waits on one future timer row.
    with db.session() as s:
        rows = s.execute(select(Timer.instance_id, Timer.due_at)
                         .where(Timer.instance_id.between(first, last))).all()
    now = utcnow()
    assert now < fire_at, (f"creating {count} instances took longer than the margin of {margin:.0f} s "
                           f"({per_instance * 1000:.1f} ms each in calibration)")
    assert sorted(r.instance_id for r in rows) == sorted(ids)
    assert all(aware(r.due_at) > now for r in rows)

    schedulers = [cluster.scheduler(), cluster.scheduler()]

    def completed() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(ProcessInstance)
                            .where(ProcessInstance.id.between(first, last), ProcessInstance.completed))

    wait_for(lambda: completed() == count, timeout=margin + 600, interval=1.0,
             message=f"all {count} timers to fire")
    assert all(p.poll() is None for p in schedulers), "a scheduler process died"

    with db.session() as s:
        fired = dict(s.execute(select(JournalEntry.instance_id, func.count())
                               .where(JournalEntry.instance_id.between(first, last),
                                      JournalEntry.event == "timer_fired")
                               .group_by(JournalEntry.instance_id)).all())
        failed = s.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.instance_id.between(first, last),
                                 JournalEntry.event == "timer_failed"))
        left = s.scalar(select(func.count()).select_from(Timer).where(Timer.instance_id.between(first, last)))
    assert set(fired) == set(ids)
    twice = {i: n for i, n in fired.items() if n != 1}
    assert twice == {}, f"{len(twice)} timer(s) fired more than once"
    assert failed == 0
    assert left == 0
