"""The scheduler: fires due timers, wakes due retries and repairs lost jobs.

Each pass reads only rows that are due through the (due_at) and (status, next_attempt_at)
indexes, so its cost depends on how much is due, not on how many timers wait in the future.
Several schedulers may run: timer rows are claimed with FOR UPDATE SKIP LOCKED and instance rows
with SKIP LOCKED too, so a scheduler never waits on an instance a worker is advancing (and
cannot deadlock with it); a skipped timer is simply picked up by the next pass.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from . import journal
from .clock import aware, utcnow
from .log_context import log_context
from .models import HeldMessage, ProcessInstance, ServiceCall, Timer
from .operators import get_operator
from .runtime import Runtime, _Advance
from .worker_liveness import dead_workers

log = logging.getLogger(__name__)
TIMER_RETRY_DELAY = timedelta(seconds=60)


@dataclass
class PassResult:
    timers_fired: int = 0
    retries_woken: int = 0
    jobs_recovered: int = 0


class Scheduler:
    def __init__(self, runtime: Runtime, redis, *, batch: int = 200, reconcile_interval: float = 5.0,
                 reconcile_grace: float = 10.0) -> None:
        self.runtime = runtime
        self.redis = redis
        self.batch = batch
        self.reconcile_interval = reconcile_interval
        self.reconcile_grace = timedelta(seconds=reconcile_grace)
        self._last_reconcile = 0.0

    # ------------------------------------------------------------------ loop
    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Pass after pass, `interval` seconds apart when idle. The scheduler never sleeps until the next due
        timer: each pass asks the database what is due by the clock (engine/clock.py), so a clock moved
        forward (tests, drills) fires what became due within one interval."""
        import time

        while not stop.is_set():
            try:
                result = self.run_pass()
                busy = result.timers_fired >= self.batch
                if time.monotonic() - self._last_reconcile >= self.reconcile_interval:
                    self._last_reconcile = time.monotonic()
                    self.reconcile()
                    self.release_held_messages()
            except Exception:
                log.exception("scheduler pass failed")
                busy = False
            if not busy:
                stop.wait(interval)

    def run_pass(self, now: datetime | None = None) -> PassResult:
        result = PassResult()
        result.timers_fired = self.fire_due_timers(now)
        result.retries_woken = self.wake_retries(now)
        return result

    # ---------------------------------------------------------------- timers
    def fire_due_timers(self, now: datetime | None = None) -> int:
        """Fire one batch of due timers; returns the number of timer rows handled."""
        now = now or utcnow()
        post = _Advance()
        db = self.runtime.db
        with db.session() as s:
            # Timers of suspended instances wait for their resume (engine/control.py).
            rows = s.execute(select(Timer.instance_id, Timer.task_guid)
                             .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                             .where(Timer.due_at <= now, ProcessInstance.suspended_at.is_(None))
                             .order_by(Timer.due_at).limit(self.batch)
                             .with_for_update(of=Timer, skip_locked=True)).all()
            if not rows:
                return 0
            due: dict[int, list[str]] = defaultdict(list)
            for iid, guid in rows:
                due[iid].append(guid)
            locked = dict(s.execute(select(ProcessInstance.id, ProcessInstance.business_key)
                                    .where(ProcessInstance.id.in_(list(due)))
                                    .with_for_update(skip_locked=True)).all())
            for iid, case_number in locked.items():
                with log_context(case_number=case_number):
                    try:
                        with s.begin_nested():  # a failing instance rolls back its own work and journal rows only
                            self.runtime.fire_timers(s, iid, due[iid], post)
                    except Exception as exc:
                        log.exception("firing timers of instance %s failed", iid)
                        self._postpone(s, iid, due[iid], now, exc)
        self.runtime._after_commit(post)
        return sum(len(due[i]) for i in locked)

    def _postpone(self, s, iid: int, guids: list[str], now: datetime, exc: Exception) -> None:
        """A timer whose firing fails is retried later instead of blocking every pass."""
        s.execute(update(Timer).where(Timer.instance_id == iid, Timer.task_guid.in_(guids))
                  .values(due_at=now + TIMER_RETRY_DELAY))
        journal.record(s, iid, "timer_failed", actor="scheduler", message=str(exc)[:2000])

    # --------------------------------------------------------------- retries
    def wake_retries(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        with self.runtime.db.session() as s:
            ids = list(s.scalars(select(ServiceCall.id).where(ServiceCall.status == "retry_wait",
                                                              ServiceCall.next_attempt_at <= now)
                                 .order_by(ServiceCall.next_attempt_at).limit(self.batch)))
        if not ids:
            return 0
        return self.runtime.requeue_calls(ids, statuses=("retry_wait",))

    # ------------------------------------------------------------ reconciler
    def reconcile(self, now: datetime | None = None) -> int:
        """Re-enqueue outbox rows whose RQ job is gone, failed, or died with its worker: at once when the
        worker stopped beating, else when the job outlived its operator's timeout plus the grace."""
        now = now or utcnow()
        with self.runtime.db.session() as s:
            rows = s.execute(select(ServiceCall.id, ServiceCall.job_id, ServiceCall.dispatched_at,
                                    ServiceCall.operator)
                             .where(ServiceCall.status == "queued",
                                    ServiceCall.dispatched_at < now - self.reconcile_grace)
                             .order_by(ServiceCall.dispatched_at).limit(2000)).all()
        if not rows:
            return 0
        by_job: dict[str | None, list] = defaultdict(list)
        for row in rows:
            by_job[row.job_id].append(row)
        lost: list[int] = []
        jobs = self._fetch_jobs([j for j in by_job if j])
        dead = dead_workers(self.redis, sorted({job.worker_name for job in jobs.values() if job.worker_name}))
        for job_id, calls in by_job.items():
            if self._is_lost(jobs.get(job_id) if job_id else None, calls, now, dead):
                lost.extend(c.id for c in calls)
        if not lost:
            return 0
        log.warning("re-enqueueing %d service call(s) whose job was lost", len(lost))
        return self.runtime.requeue_calls(lost)

    def release_held_messages(self) -> int:
        """Deliver messages still held for instances no longer suspended: a resume delivers them after its own
        commit, so a process that died in between leaves them here. Normally there are none."""
        with self.runtime.db.session() as s:
            ids = list(s.scalars(select(HeldMessage.instance_id).distinct()
                                 .join(ProcessInstance, ProcessInstance.id == HeldMessage.instance_id)
                                 .where(ProcessInstance.suspended_at.is_(None)).limit(self.batch)))
        return sum(self.runtime.release_held_messages(instance_id) for instance_id in ids)

    def _fetch_jobs(self, job_ids: list[str]) -> dict[str, Job]:
        found: dict[str, Job] = {}
        for chunk in range(0, len(job_ids), 500):
            ids = job_ids[chunk:chunk + 500]
            for job_id, job in zip(ids, Job.fetch_many(ids, connection=self.redis), strict=True):
                if job is not None:
                    found[job_id] = job
        return found

    def _is_lost(self, job: Job | None, calls: list, now: datetime, dead: set[str]) -> bool:
        if job is None:
            return True
        try:
            status = job.get_status(refresh=False)
        except NoSuchJobError:
            return True
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            return False
        if status == JobStatus.STARTED:
            if job.worker_name in dead:  # its worker stopped beating: nobody runs it (engine/worker_liveness.py)
                return True
            timeout = max((op.timeout for c in calls if (op := get_operator(c.operator))), default=30.0)
            started = max([aware(job.started_at) or now] + [aware(c.dispatched_at) for c in calls])
            return started + timedelta(seconds=timeout) + self.reconcile_grace < now
        return True  # finished/failed/stopped/canceled while the row still says queued
