"""RQ's SimpleWorker with its per-job bookkeeping in fewer Redis round trips.

RQ (2.12) spends about 27 round trips to Redis on each job besides the job itself: a look for `rq suspend`,
the execution and the job's start in two transactions, a standalone write of the job's heartbeat when it
ends, and, for a job that keeps no result, a WATCH on its dependents, three reads of its status and two of its
executions (to find what to delete) before the transaction that finishes it; then the worker's state and
heartbeat, each written on its own, before and after every dequeue. A profile of the engine's workers put that
at about a quarter of their CPU. Here a job costs six: the look for `rq suspend` (kept before every dequeue:
one skipped before a dequeue that then blocks would let the next job through a suspension however late), the
dequeue (pop, then the job's hash), one transaction for the start, the job's own PERSIST, and one script for
the finish; the worker's heartbeat is renewed when its TTL changes or every few seconds.

What RQ writes stays the same: the job's hash says started, by whom and since when (the reconciler reads
that), the execution sits in the started-job registry until the job ends, a finished job that keeps no
result leaves nothing behind, the worker's hash carries its state, current job, counters and heartbeat.
Only a job that finished, keeps no result, repeats no more and belongs to no group takes the short finish,
and even then RQ's own path runs when the job has dependents (the script checks atomically and does nothing
then); a failing job, a retried one and one keeping its result go through RQ's code unchanged.
"""

from __future__ import annotations

import time
from functools import cached_property

from redis.client import Pipeline
from redis.commands.core import Script
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.utils import now, utcformat
from rq.worker import WorkerStatus

# One transaction for a job that finished and keeps no result: what RQ's handle_job_success, Job.delete and
# cleanup_execution write for it, with the worker's state and heartbeat that RQ writes right after. A script
# because the check for dependents and the deletion must be atomic, which RQ gets with WATCH and a retry loop
# (a round trip more, and the reads in between); RQ uses scripts the same way for its atomic enqueue. Every
# key is passed in, computed by RQ's own properties; only the worker hash's field names are RQ's, written
# here as RQ's increment_successful_job_count, increment_total_working_time, set_current_job_id(None),
# set_state and heartbeat write them.
_FINISH_SCRIPT = """
-- KEYS: 1 the job's dependents, 2 the job's hash, 3 its dependencies, 4 its executions,
--       5 the queue's started-job registry, 6 the worker's hash
-- ARGV: 1 the execution hash key without the execution id, 2 the started-registry member likewise,
--       3 seconds the job worked, 4 the heartbeat's time, 5 the worker hash's TTL, 6 the idle state
if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[5], ARGV[2] .. id)
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HINCRBY', KEYS[6], 'successful_job_count', 1)
redis.call('HINCRBYFLOAT', KEYS[6], 'total_working_time', ARGV[3])
redis.call('HDEL', KEYS[6], 'current_job')
redis.call('HSET', KEYS[6], 'state', ARGV[6], 'last_heartbeat', ARGV[4])
redis.call('EXPIRE', KEYS[6], ARGV[5])
return 1
"""


class LeanSimpleWorker(SimpleWorker):
    """SimpleWorker whose per-job bookkeeping takes 6 round trips to Redis instead of 27 (see the module)."""

    HEARTBEAT_EVERY_S = 10.0
    """A heartbeat that would only renew the worker hash's TTL to the same value within this many seconds of
    the last is skipped: RQ renews it up to five times per job, while the TTL is minutes (worker_ttl + 60)."""

    _start: Pipeline | None = None  # the execution's writes, sent with the job's start (prepare_job_execution)
    _beat_at = -float("inf")  # time.monotonic() of the last heartbeat written
    _beat_ttl = 0  # and the TTL it gave the worker hash

    @cached_property
    def _finish_script(self) -> Script:
        return self.connection.register_script(_FINISH_SCRIPT)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's heartbeat, skipped when one with the same TTL was written less than HEARTBEAT_EVERY_S ago.
        A heartbeat with another TTL always goes (RQ shortens the TTL to the job's timeout while a job runs,
        so a worker hanging in a job expires soon after; the finish sets it back)."""
        timeout = timeout or self.worker_ttl + 60
        if timeout == self._beat_ttl and time.monotonic() - self._beat_at < self.HEARTBEAT_EVERY_S:
            return
        super().heartbeat(timeout, pipeline)
        self._beat_at, self._beat_ttl = time.monotonic(), timeout

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        """RQ's set_state, except that a standalone write of the state the worker last wrote is skipped: RQ
        writes «idle» after each job and again before each dequeue. Only this worker writes its state."""
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline)

    def prepare_execution(self, job: Job) -> Execution:
        """RQ's prepare_execution (the execution in its registries, the worker busy), its writes held back
        for prepare_job_execution's transaction instead of one of their own."""
        pipeline = self.connection.pipeline()
        self.execution = Execution.create(job, self.get_heartbeat_ttl(job), pipeline=pipeline, worker_name=self.name)
        self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
        self._start = pipeline
        return self.execution

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """RQ's prepare_job_execution, step by step with RQ's own methods, in the transaction that also
        carries prepare_execution's writes."""
        pipeline, self._start = self._start or self.connection.pipeline(), None
        with pipeline:
            self.set_current_job_id(job.id, pipeline=pipeline)
            self.set_current_job_working_time(0, pipeline=pipeline)
            heartbeat_ttl = self.get_heartbeat_ttl(job)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            if remove_from_intermediate_queue:
                pipeline.lrem(Queue(job.origin, connection=self.connection).intermediate_queue_key, 1, job.id)
            pipeline.execute()
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """RQ's, without writing the job's heartbeat for a job that returned, runs no success callback and
        keeps no result: the finish right after deletes the job's hash (a job returning rq's Retry is requeued
        instead, its last heartbeat the start's). RQ has set the status to FAILED before this call when the
        job raised."""
        if job.get_status(refresh=False) == JobStatus.STARTED and job.success_callback is None and self._lean(job):
            job.ended_at = now()
            return
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry) -> None:
        """The short finish (one script) for a job that keeps nothing, RQ's own for any other and for a job
        that has dependents."""
        if not (self._lean(job) and self._finish(job, started_job_registry)):
            super().handle_job_success(job, queue, started_job_registry)

    def _lean(self, job: Job) -> bool:
        """Whether the job leaves nothing behind when it succeeds: no result kept, no repeat, no group."""
        return (job.get_result_ttl(self.default_result_ttl) == 0 and not job.repeats_left and not job.group_id
                and self.execution is not None)

    def _finish(self, job: Job, started_job_registry: StartedJobRegistry) -> bool:
        """Finish the job in one script; False, with nothing written, when it has dependents."""
        execution = self.execution
        assert execution is not None and job.started_at is not None and job.ended_at is not None
        ttl = self.worker_ttl + 60
        beat = now()
        done = self._finish_script(
            keys=[job.dependents_key, job.key, job.dependencies_key, job.execution_registry.key,
                  started_job_registry.key, self.key],
            args=[execution.key.removesuffix(execution.id), execution.composite_key.removesuffix(execution.id),
                  (job.ended_at - job.started_at).total_seconds(), utcformat(beat), ttl, WorkerStatus.IDLE])
        if not done:
            return False
        self.execution = None
        self._state = WorkerStatus.IDLE
        self.last_heartbeat = beat
        self._beat_at, self._beat_ttl = time.monotonic(), ttl
        self.log.info("Worker %s: job %s finished, nothing kept", self.name, job.id)
        return True
