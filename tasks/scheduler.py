"""`backoffice scheduler`: fires due timers, wakes retries, repairs lost jobs, reports a heartbeat."""

from __future__ import annotations

import logging
import signal
import threading
import time

from engine.context import Services, build_services, install
from engine.process_tuning import tune_gc
from engine.scheduler import PeriodicJob, Scheduler

from .cases.retention import apply_retention
from .config import AppConfig

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "backoffice:scheduler:heartbeat"


def retention_job(services: Services) -> PeriodicJob:
    """Delete old scans and minimise the personal data of closed cases, every RETENTION_INTERVAL seconds."""
    config = AppConfig.from_env(settings=services.settings)
    return PeriodicJob("retention", config.retention_interval,
                       lambda: apply_retention(services.database, services.runtime, services.sla, config.uploads_dir))


def run_scheduler() -> None:
    services = build_services()
    install(services)
    settings = services.settings
    scheduler = Scheduler(services.runtime, services.redis, reconcile_interval=settings.reconcile_interval,
                          reconcile_grace=settings.reconcile_grace, periodic=[retention_job(services)])
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
    log.info("scheduler started")
    scheduler.run_forever(stop, settings.scheduler_interval)
    log.info("scheduler stopped")
