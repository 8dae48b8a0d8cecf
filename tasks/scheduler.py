"""`backoffice scheduler`: fires due timers, wakes retries, repairs lost jobs, reports a heartbeat."""

from __future__ import annotations

import logging
import signal
import threading
import time

from engine.context import build_services, install
from engine.process_tuning import tune_gc
from engine.scheduler import Scheduler

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "backoffice:scheduler:heartbeat"


def run_scheduler() -> None:
    services = build_services()
    install(services)
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
    log.info("scheduler started")
    scheduler.run_forever(stop, settings.scheduler_interval)
    log.info("scheduler stopped")
