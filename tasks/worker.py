"""`backoffice worker`: an RQ worker that runs service-task operators.

SimpleWorker runs jobs in the worker process instead of forking one child per job: our jobs are
short and our state is in the database, and forking costs ~3x the throughput (DESIGN.md).
A worker killed mid-job loses nothing: the outbox row stays queued and the reconciler re-enqueues it.
"""

from __future__ import annotations

import gc
import logging
import os
import socket

from rq import Queue, SimpleWorker

from engine.context import build_services, install


def run_worker(burst: bool = False, name: str | None = None) -> None:
    services = build_services()
    install(services)
    queue = Queue(services.settings.queue_name, connection=services.redis)
    worker = SimpleWorker(
        [queue], connection=services.redis,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
    )
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    # Everything loaded so far (SpiffWorkflow, WeasyPrint and its fonts, the specs) lives as long as the
    # process: keep it out of the cyclic GC's scans, which otherwise grow with it and slow every job.
    gc.collect()
    gc.freeze()
    worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
