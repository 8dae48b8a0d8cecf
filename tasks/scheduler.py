"""`backoffice scheduler`: fires due timers, wakes retries, repairs lost jobs, reports a heartbeat, and runs
the periodic jobs in a thread of their own (engine.periodic): the retention of closed cases every
RETENTION_INTERVAL seconds (3600), the refresh of the medical organisations directory every
DIRECTORY_REFRESH_INTERVAL seconds (3600) and, on PostgreSQL, the step analytics' roll-up every
ANALYTICS_ROLLUP_INTERVAL seconds (300)."""

from __future__ import annotations

import logging
import signal
import threading
import time

from engine.context import Services
from engine.periodic import PeriodicJob, run_periodic
from engine.process_tuning import tune_gc
from engine.scheduler import Scheduler

from .cases.retention import apply_retention
from .config import AppConfig
from .directory.refresh import refresh_directory
from .process import start
from .registries.operators import registry_client

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "backoffice:scheduler:heartbeat"


def run_scheduler(config: AppConfig) -> None:
    """Fire timers and run the periodic jobs of `config` until SIGINT or SIGTERM."""
    services = start(config)
    settings = services.settings
    scheduler = Scheduler(services.runtime, services.redis, reconcile_interval=settings.reconcile_interval,
                          reconcile_grace=settings.reconcile_grace)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def heartbeat() -> None:
        while not stop.is_set():
            try:
                services.redis.set(HEARTBEAT_KEY, time.time(), ex=60)
            except Exception as exc:  # Redis down: the scheduler keeps firing timers from the DB
                log.warning("scheduler heartbeat failed: %s", exc)
            stop.wait(5)

    tune_gc()
    threading.Thread(target=heartbeat, daemon=True).start()
    threading.Thread(target=run_periodic, args=(periodic_jobs(services, config), stop), name="periodic",
                     daemon=True).start()
    log.info("scheduler started")
    scheduler.run_forever(stop, settings.scheduler_interval)
    log.info("scheduler stopped")


def periodic_jobs(services: Services, config: AppConfig) -> list[PeriodicJob]:
    """The jobs this deployment runs beside the timers. The retention of closed cases deletes old scans and
    minimises personal data; the directory refresh keeps the medical organisations current (and their last
copy through a registry outage); on PostgreSQL the analytics roll-up keeps the step figures current (SQLite
    computes analytics from the steps directly and keeps no roll-ups)."""
    jobs = [PeriodicJob("retention", config.retention_interval,
                        lambda: apply_retention(services.database, services.runtime, services.sla, config.uploads_dir)),
            PeriodicJob("directory_refresh", config.directory_refresh_interval,
                        lambda: _refresh_directory(services))]
    if services.database.engine.dialect.name == "postgresql":
        from tasks.analytics.rollup import roll_up_all

        jobs.append(PeriodicJob("analytics_rollup", config.analytics_rollup_interval,
                                lambda: roll_up_all(services.database)))
    return jobs


def _refresh_directory(services: Services) -> None:
    with services.database.session() as session:
        refresh_directory(session, registry_client())
