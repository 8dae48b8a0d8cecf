"""`backoffice worker`: an RQ worker that runs service-task operators.

SimpleWorker runs jobs in the worker process instead of forking one child per job: our jobs are
short and our state is in the database, and forking a child per job costs about three times the throughput.
A worker killed mid-job loses nothing: the outbox row stays queued and the reconciler re-enqueues it,
within seconds because the worker's heartbeat (engine/worker_liveness.py) stops with it.

`backoffice worker --processes N` runs N such workers as forked children of one parent that imported
everything first (engine/prefork.py): a child that dies is replaced within milliseconds instead of by a
new interpreter importing for seconds.

Each process runs `--threads` lanes (BACKOFFICE_WORKER_THREADS, 2 by default): RQ workers of their own,
registered and beating under their own names, the first in the main thread and the others in threads of
the same process. A job spends part of its time waiting for the registries; one lane per process left the
process idle meanwhile (the portal benchmark's capacity stopped at half the machine), while a second lane
takes the next job during that wait. Threads rather than more processes: the lanes share the process's
caches, connections and imports, and a process never runs more Python at once than one core's worth, so
two processes on two cores are not oversubscribed.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from types import FrameType

import redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.job import Job
from rq.timeouts import TimerDeathPenalty

from engine.operators import load_operator_modules
from engine.prefork import ForkedPool
from engine.process_tuning import tune_gc
from engine.rq_worker import LeanSimpleWorker
from engine.worker_liveness import Heartbeat

from .config import AppConfig
from .process import start

log = logging.getLogger(__name__)


def run_worker(config: AppConfig, burst: bool = False, name: str | None = None, threads: int | None = None) -> None:
    """Consume the configuration's queue until asked to stop, in `threads` lanes (the configuration's
    `worker_threads` by default); each job finds the services and configuration installed here.

    The main thread's lane is named `name` (or `<host>.<pid>`), the others `<that name>/<n>`. SIGTERM and
    SIGINT reach the main thread's RQ worker, which passes the stop on: every lane finishes its job and
    ends, and the process returns once all have.
    """
    services = start(config)
    queue = Queue(services.settings.queue_name, connection=services.redis)
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    tune_gc()
    base = name or f"{socket.gethostname()}.{os.getpid()}"
    stop = threading.Event()
    lanes = [threading.Thread(target=_lane, args=(queue, services.redis, f"{base}/{n}", burst, ThreadLane, stop),
                              name=f"worker-lane-{n}", daemon=True)
             for n in range(1, threads or config.settings.worker_threads)]
    for lane in lanes:
        lane.start()
    try:
        _lane(queue, services.redis, base, burst, MainLane, stop)
    except BaseException:  # RQ's cold shutdown (a second signal): the lanes' jobs are not waited for
        stop.set()
        raise
    stop.set()
    for lane in lanes:
        lane.join()


def _lane(queue: Queue, connection: redis.Redis, name: str, burst: bool, worker_class: type[Worker],
          stop: threading.Event) -> None:
    """One RQ worker's life under `name`, with its own heartbeat; its rounds end when `stop` is set."""
    heartbeat = Heartbeat(connection, name).start()
    try:
        _work_rounds(queue, connection, name, heartbeat, burst, worker_class, stop)
    finally:
        heartbeat.stop()


def run_worker_pool(config: AppConfig, processes: int, burst: bool = False, name: str | None = None,
                    threads: int | None = None) -> int:
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
        run_worker(config, burst=burst, name=f"{base}.{os.getpid()}", threads=threads)

    return ForkedPool(work, processes, replace_finished=not burst).run()


class Worker(LeanSimpleWorker):
    """RQ's SimpleWorker, with its per-job bookkeeping in fewer Redis round trips (engine/rq_worker.py), whose
    command listener lets a stop through within a second.

    RQ listens for its commands (shutdown, kill-horse) in a redis-py PubSub thread that polls with a
    60 s wait; since redis-py 8.2 `PubSubWorkerThread.stop()` joins that thread with no timeout, so an
    idle worker asked to stop could take a minute to exit - far past docker's 10 s grace, after which it
    is killed mid-teardown. Polling every second costs nothing measurable and bounds the wait.
    """

    COMMAND_POLL_S = 1.0
    lanes_stop: threading.Event | None = None  # set when the process's lanes are to end (see MainLane)

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=self.COMMAND_POLL_S, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)


class MainLane(Worker):
    """The lane in the main thread: RQ's signal handlers are its, so a stop asked of it is passed on to the
    process's other lanes before RQ's own warm shutdown starts."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.lanes_stop is not None:
            self.lanes_stop.set()
        super().request_stop(signum, frame)


class ThreadLane(Worker):
    """A lane in a thread of its own. Signals only reach the main thread, so this one installs no handlers and
    watches the process's stop event instead, between jobs and at least every `STOP_POLL_S` while idle. Its
    job timeout is a timer raising in the thread (RQ's alarm-signal one works in the main thread only)."""

    death_penalty_class = TimerDeathPenalty
    STOP_POLL_S = 1

    def _install_signal_handlers(self) -> None:
        pass

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> tuple[Job, Queue] | None:
        if timeout is None:  # burst: RQ pops without waiting
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while self.lanes_stop is None or not self.lanes_stop.is_set():
            # RQ's wait ends with None when idle for max_idle_time: the moment to look at the stop event.
            result = super().dequeue_job_and_maintain_ttl(self.STOP_POLL_S, self.STOP_POLL_S)
            if result is not None:
                return result
        self._stop_requested = True
        raise StopRequested()


def _work_rounds(queue: Queue, connection: redis.Redis, base: str, heartbeat: Heartbeat, burst: bool,
                 worker_class: type[Worker] = Worker, stop: threading.Event | None = None) -> None:
    """RQ's work loop gives up («found an unhandled exception, quitting») when Redis stays unreachable for a
    couple of seconds; the fault drills showed every worker gone after a Redis restart, with nothing
    (docker-compose) to start them again. So an ending without a stop request starts a new RQ worker on the
    same lane once Redis answers; the work itself is safe in the outbox meanwhile."""
    worker: Worker | None = None
    for round_ in itertools.count():
        # Its name is the worker's host and pid (RQ's started-job entries say who runs a job); a later
        # round adds its number, as Redis may still hold the previous round's registration.
        heartbeat.rename(base if round_ == 0 else f"{base}.{round_}")
        try:
            # Inside the try: RQ's constructor already talks to Redis (CLIENT SETNAME), and a new round
            # starts while Redis may still be down; the fault drills saw every worker die there.
            worker = worker_class([queue], connection=connection, name=heartbeat.name)
            worker.lanes_stop = stop
        except redis.RedisError as exc:
            log.warning("worker %s cannot start yet (%s); trying again", heartbeat.name, exc)
            time.sleep(2)
            if burst or _stopping(worker, stop):  # the last round's handlers noted a stop
                return
            continue
        try:
            worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
        except redis.RedisError as exc:  # its teardown, on a Redis that is gone
            log.warning("worker %s ended on a Redis error: %s", worker.name, exc)
        if burst or _stopping(worker, stop):
            return
        log.warning("worker %s ended without a stop request (Redis unreachable?); starting again", worker.name)
        time.sleep(2)
        if _stopping(worker, stop):  # RQ's signal handlers are still the last worker's
            return


def _stopping(worker: Worker | None, stop: threading.Event | None) -> bool:
    """Whether the lane is to end: its process's stop event, or SIGTERM/SIGINT noted by RQ on the worker (an
    idle worker stops at once, a busy one after its job, setting its flag)."""
    if stop is not None and stop.is_set():
        return True
    return worker is not None and (worker._shutdown_requested_date is not None or worker._stop_requested)
