"""`backoffice worker`: an RQ worker that runs service-task operators.

SimpleWorker runs jobs in the worker process instead of forking one child per job: our jobs are
short and our state is in the database, and forking a child per job costs about three times the throughput.
A worker killed mid-job loses nothing: the outbox row stays queued and the reconciler re-enqueues it,
within seconds because the worker's heartbeat (engine/worker_liveness.py) stops with it.

`backoffice worker --processes N` runs N such workers as forked children of one parent that imported
everything first (engine/prefork.py): a child that dies is replaced within milliseconds instead of by a
new interpreter importing for seconds.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time

import redis
from rq import Queue, SimpleWorker

from engine.operators import load_operator_modules
from engine.prefork import ForkedPool
from engine.process_tuning import tune_gc
from engine.worker_liveness import Heartbeat

from .config import AppConfig
from .process import start

log = logging.getLogger(__name__)


def run_worker(config: AppConfig, burst: bool = False, name: str | None = None) -> None:
    """Consume the configuration's queue until asked to stop; each job finds the services and configuration
    installed here. RQ's work loop gives up («found an unhandled exception, quitting») when Redis stays
    unreachable for a couple of seconds; the fault drills showed every worker gone after a Redis restart,
    with nothing (docker-compose) to start them again. So an ending without a stop request starts a new RQ
    worker on the same process once Redis answers; the work itself is safe in the outbox meanwhile."""
    services = start(config)
    queue = Queue(services.settings.queue_name, connection=services.redis)
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    tune_gc()
    base = name or f"{socket.gethostname()}.{os.getpid()}"
    heartbeat = Heartbeat(services.redis, base).start()
    try:
        _work_rounds(queue, services.redis, base, heartbeat, burst)
    finally:
        heartbeat.stop()


def run_worker_pool(config: AppConfig, processes: int, burst: bool = False, name: str | None = None) -> int:
    """Run `processes` workers as children of this process, replacing any that dies; returns the exit code.

    Here, before forking, only imports happen: the operators' modules and all they pull in (SpiffWorkflow,
    WeasyPrint, SQLAlchemy, RQ). Each child then builds its own services, so no database or Redis
    connection is shared across the fork, and runs `run_worker` with its own restart rounds and
    heartbeat, named `<name or host>.<its pid>` (RQ needs a name no live registration holds; the pid
    also says which process runs a job). With `burst` a child that emptied the queue is not replaced."""
    load_operator_modules(config.settings.operator_modules)
    tune_gc()  # the imported code moves to the frozen generation: the children's collections leave it shared
    base = name or socket.gethostname()

    def work(_slot: int) -> None:
        run_worker(config, burst=burst, name=f"{base}.{os.getpid()}")

    return ForkedPool(work, processes, replace_finished=not burst).run()


class Worker(SimpleWorker):
    """RQ's SimpleWorker whose command listener lets a stop through within a second.

    RQ listens for its commands (shutdown, kill-horse) in a redis-py PubSub thread that polls with a
    60 s wait; since redis-py 8.2 `PubSubWorkerThread.stop()` joins that thread with no timeout, so an
    idle worker asked to stop could take a minute to exit - far past docker's 10 s grace, after which it
    is killed mid-teardown. Polling every second costs nothing measurable and bounds the wait.
    """

    COMMAND_POLL_S = 1.0

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=self.COMMAND_POLL_S, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)


def _work_rounds(queue: Queue, connection: redis.Redis, base: str, heartbeat: Heartbeat, burst: bool) -> None:
    worker: Worker | None = None
    for round_ in itertools.count():
        # Its name is the worker's host and pid (RQ's started-job entries say who runs a job); a later
        # round adds its number, as Redis may still hold the previous round's registration.
        heartbeat.rename(base if round_ == 0 else f"{base}.{round_}")
        try:
            # Inside the try: RQ's constructor already talks to Redis (CLIENT SETNAME), and a new round
            # starts while Redis may still be down; the fault drills saw every worker die there.
            worker = Worker([queue], connection=connection, name=heartbeat.name)
        except redis.RedisError as exc:
            log.warning("worker %s cannot start yet (%s); trying again", heartbeat.name, exc)
            time.sleep(2)
            if burst or (worker is not None and _stop_asked(worker)):  # the last round's handlers noted a stop
                return
            continue
        try:
            worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
        except redis.RedisError as exc:  # its teardown, on a Redis that is gone
            log.warning("worker %s ended on a Redis error: %s", worker.name, exc)
        if burst or _stop_asked(worker):
            return
        log.warning("worker %s ended without a stop request (Redis unreachable?); starting again", worker.name)
        time.sleep(2)
        if _stop_asked(worker):  # RQ's signal handlers are still the last worker's
            return


def _stop_asked(worker: Worker) -> bool:
    """Whether SIGTERM/SIGINT asked the worker to stop: RQ notes the time (an idle worker stops at once, a
    busy one after its job, setting its flag)."""
    return worker._shutdown_requested_date is not None or worker._stop_requested
