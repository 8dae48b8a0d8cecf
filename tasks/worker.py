"""`backoffice worker`: an RQ worker that runs service-task operators.

SimpleWorker runs jobs in the worker process instead of forking one child per job: our jobs are
short and our state is in the database, and forking a child per job costs about three times the throughput.
A worker killed mid-job loses nothing: the outbox row stays queued and the reconciler re-enqueues it.
"""

from __future__ import annotations

import logging
import os
import socket

from rq import Queue, SimpleWorker

from engine.process_tuning import tune_gc

from .config import AppConfig
from .process import start


def run_worker(config: AppConfig, burst: bool = False, name: str | None = None) -> None:
    """Consume the configuration's queue; each job finds the services and configuration installed here."""
    services = start(config)
    queue = Queue(services.settings.queue_name, connection=services.redis)
    worker = SimpleWorker(
        [queue], connection=services.redis,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
    )
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    tune_gc()
    worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
