"""The gauges and counters of /metrics, read from the database and Redis at scrape time.

Nothing is counted inside the web processes: queue depths, incidents, timers, tasks and cases are
facts of the shared database and Redis, so any web process reads the same values, however many
processes or hosts serve the app. Each source is read with a few aggregate queries over indexed
columns; a source that cannot be read is reported as `backoffice_metrics_source_up{source} 0` and
its series are left out, so one broken part never hides the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import ColumnElement, case, func, select

from engine.clock import aware, utcnow
from engine.db import Database
from engine.job_stats import job_counts
from engine.models import HumanTask, ProcessInstance, ServiceCall, Timer
from engine.sla_state import OVERDUE, sla_condition

from .http import collect_http

log = logging.getLogger(__name__)

# The scheduler looks for due timers every half second: one still waiting a minute after its due
# time means the scheduler is down or cannot keep up.
LATE_AFTER = timedelta(seconds=60)
NO_ROLE = "none"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class BackofficeCollector(Collector):
    """One collector for the whole of /metrics, so a scrape reads each source once."""

    def __init__(self, database: Database, redis: Redis) -> None:
        self.database = database
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("backoffice_metrics_source_up",
                               "1 when this scrape could read the source, 0 when it could not.", labels=["source"])
        sources: list[tuple[str, Callable[[], Iterable[Metric]]]] = [
            ("database", self._database), ("redis", self._redis), ("http", lambda: collect_http(self.redis))]
        for name, read in sources:
            try:
                families = list(read())
            except Exception as exc:  # a broken source must not hide the others
                log.warning("metrics source %s could not be read: %s", name, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up

    # ------------------------------------------------------------------ Redis: the RQ queues
    def _redis(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("backoffice_rq_queue_jobs", "Jobs waiting in an RQ queue.", labels=["queue"])
        running = GaugeMetricFamily("backoffice_rq_started_jobs", "Jobs a worker is running now.", labels=["queue"])
        kept_failed = GaugeMetricFamily("backoffice_rq_failed_registry_jobs",
                                        "Failed jobs RQ still keeps in its failed-job registry.", labels=["queue"])
        for queue in sorted(Queue.all(connection=self.redis), key=lambda q: q.name):
            depth.add_metric([queue.name], queue.count)
            running.add_metric([queue.name], queue.started_job_registry.count)
            kept_failed.add_metric([queue.name], queue.failed_job_registry.count)
        finished = CounterMetricFamily("backoffice_rq_jobs", "Jobs finished by the workers, by queue and outcome.",
                                       labels=["queue", "outcome"])
        for (queue_name, outcome), count in sorted(job_counts(self.redis).items()):
            finished.add_metric([queue_name, outcome], count)
        workers = GaugeMetricFamily("backoffice_rq_workers", "RQ workers registered in Redis.",
                                    value=Worker.count(connection=self.redis))
        return iter([depth, running, kept_failed, finished, workers])

    # ------------------------------------------------------------------ the database
    def _database(self) -> Iterator[Metric]:
        now = utcnow()
        with self.database.reader() as conn:
            incidents = conn.execute(select(ServiceCall.operator, func.count())
                                     .where(ServiceCall.status == "incident")
                                     .group_by(ServiceCall.operator)).all()
            timers = conn.execute(select(func.count(), _count_if(Timer.due_at <= now),
                                         _count_if(Timer.due_at <= now - LATE_AFTER),
                                         func.min(Timer.due_at))).one()
            tasks = conn.execute(select(HumanTask.role, func.count(), _count_if(sla_condition(OVERDUE, now)))
                                 .where(HumanTask.status == "open").group_by(HumanTask.role)).all()
            cases = conn.execute(select(ProcessInstance.process_id, func.count(),
                                        _count_if(ProcessInstance.completed.is_(True)))
                                 .group_by(ProcessInstance.process_id)).all()
        yield _by_label("backoffice_incidents_open", "Service calls that used up their retries (incidents).",
                        "operator", incidents)
        yield from _timers(now, *timers)
        yield _by_label("backoffice_user_tasks_open", "Open user tasks, by role of their queue.", "role",
                        [(role or NO_ROLE, n) for role, n, _ in tasks])
        yield _by_label("backoffice_user_tasks_overdue", "Open user tasks past their due time, by role.", "role",
                        [(role or NO_ROLE, overdue) for role, _, overdue in tasks])
        started = CounterMetricFamily("backoffice_cases_started", "Process instances started, by process.",
                                      labels=["process"])
        finished = CounterMetricFamily("backoffice_cases_finished", "Process instances that reached their end.",
                                       labels=["process"])
        for process_id, total, done in cases:
            started.add_metric([process_id], total)
            finished.add_metric([process_id], done)
        yield started
        yield finished


def _by_label(name: str, documentation: str, label: str, rows: Iterable[tuple[str, int]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(rows):
        family.add_metric([value], count)
    return family


def _timers(now: datetime, waiting: int, due: int, late: int, oldest: datetime | None) -> Iterator[Metric]:
    yield GaugeMetricFamily("backoffice_timers_waiting", "Timers waiting to fire.", value=waiting)
    yield GaugeMetricFamily("backoffice_timers_due", "Timers whose due time has come and that have not fired.",
                            value=due)
    yield GaugeMetricFamily("backoffice_timers_late",
                            f"Timers still waiting {int(LATE_AFTER.total_seconds())} s after their due time.",
                            value=late)
    lag = max(0.0, (now - aware(oldest)).total_seconds()) if oldest is not None else 0.0
    yield GaugeMetricFamily("backoffice_timers_lag_seconds", "How long the most overdue timer has been due.",
                            value=lag)
