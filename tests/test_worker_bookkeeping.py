"""The workers' own RQ bookkeeping (engine/rq_worker.py): a job that keeps no result costs a few Redis round
trips and leaves nothing behind, while a job with dependents, one keeping its result, a failing one and one
running out of time still get what RQ gives them. Real worker processes on a queue of their own, real Redis;
the round trips are read with Redis's MONITOR (PostgreSQL + a Redis server on TCP only: there MONITOR tells
the clients apart by their ports)."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from tests.support.backend import wait_for

JOBS = "tests.support.rq_jobs."
TEST_CLIENT = "worker-bookkeeping-test"


class _Monitor:
    """Every command Redis runs on the test's database while the block runs, as (client port, command)."""

    def __init__(self, url: str, db: int) -> None:
        self.url, self.db = url, db
        self.commands: list[tuple[str, str]] = []
        self._ready = threading.Event()
        self._marker = f"monitor-end-{uuid.uuid4().hex}"
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def __enter__(self) -> _Monitor:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        redis.Redis.from_url(self.url).get(self._marker)
        self._thread.join(10)

    def _listen(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as monitor:
            self._ready.set()
            for entry in monitor.listen():
                if self._marker in entry["command"]:
                    return
                if entry["db"] == self.db and entry["client_type"] == "tcp":
                    self.commands.append((entry["client_port"], entry["command"]))

    def round_trips(self, client: redis.Redis) -> int:
        """Requests to RQ's keys (a MULTI ... EXEC block is one) from every connection but the test's own (named
        TEST_CLIENT): the worker's, without the engine's liveness keys (engine/worker_liveness.py)."""
        own = {c["addr"].rsplit(":", 1)[1] for c in client.client_list() if c["name"] == TEST_CLIENT}
        ports = {port for port, _ in self.commands} - own
        trips, block = 0, defaultdict(list)
        for port, command in self.commands:
            if port not in ports:
                continue
            name = command.split(" ", 1)[0].upper()
            if name == "MULTI":
                block[port] = ["MULTI"]
            elif name in ("EXEC", "DISCARD"):
                trips += any("rq:" in c for c in block.pop(port, []))
            elif port in block:
                block[port].append(command)
            else:
                trips += "rq:" in command
        return trips


def _worker(cluster, queue: str, threads: int = 1):
    return cluster.worker(BACKOFFICE_QUEUE=queue, BACKOFFICE_WORKER_THREADS=str(threads))


def _lanes(client: redis.Redis, queue: str, count: int) -> list[Worker]:
    """The queue's registered workers, once `count` are there and idle."""
    def idle() -> list[Worker] | None:
        workers = Worker.all(connection=client, queue=Queue(queue, connection=client))
        return workers if len(workers) == count and all(w.get_state() == "idle" for w in workers) else None
    return wait_for(idle, timeout=60, message=f"{count} idle worker(s) on {queue}")


def _successes(client: redis.Redis, worker: Worker) -> int:
    return int(client.hget(worker.key, "successful_job_count") or 0)


def _leftovers(client: redis.Redis, queue: str, job_ids: list[str]) -> list[str]:
    """What RQ keeps of these jobs: their hashes, executions, and entries in the queue's registries."""
    left = [k.decode() for job_id in job_ids for k in client.scan_iter(f"rq:*{job_id}*")]
    registries = [f"rq:wip:{queue}", f"rq:finished:{queue}", f"rq:failed:{queue}", f"rq:deferred:{queue}",
                  f"rq:queue:{queue}", f"rq:queue:{queue}:intermediate"]
    for key in registries:
        members = client.zrange(key, 0, -1) if client.type(key) == b"zset" else client.lrange(key, 0, -1)
        left += [f"{key} {m.decode()}" for m in members if any(job_id in m.decode() for job_id in job_ids)]
    return left


def _client(backend) -> redis.Redis:
    return redis.Redis.from_url(backend.redis_url, client_name=TEST_CLIENT)


def test_a_job_that_keeps_no_result_costs_few_round_trips_and_leaves_nothing(backend, cluster):
    """20 no-op jobs enqueued as the engine's dispatcher does (result_ttl=0): RQ 2.12's own worker spends 27
    Redis round trips on each, ours 6 (the suspension check, the pop, the job's hash, the start, the job's
    PERSIST, the finish). Afterwards no key or registry entry of the jobs is left, and the worker's hash says
    what RQ's says: 20 successes, idle, no current job, renewed for the worker TTL."""
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    _worker(cluster, queue)
    [lane] = _lanes(client, queue, 1)
    rq_queue = Queue(queue, connection=client)
    with _Monitor(backend.redis_url, client.connection_pool.connection_kwargs["db"]) as monitor:
        jobs = [rq_queue.enqueue_call(JOBS + "noop", result_ttl=0, failure_ttl=3600) for _ in range(20)]
        wait_for(lambda: _successes(client, lane) == 20, timeout=60, message="the 20 jobs to finish")
    trips = monitor.round_trips(client)
    assert trips <= 7 * 20, f"{trips / 20:.1f} round trips per job"
    assert _leftovers(client, queue, [job.id for job in jobs]) == []
    state = {k.decode(): v.decode() for k, v in client.hgetall(lane.key).items()}
    assert state["state"] == "idle" and "current_job" not in state and state["successful_job_count"] == "20"
    assert float(state["total_working_time"]) > 0
    assert client.ttl(lane.key) > 400  # RQ's worker_ttl (420) + 60, renewed by the finish


def test_a_job_with_a_dependent_finishes_through_rq_s_own_path_which_enqueues_the_dependent(backend, cluster):
    """A job that keeps no result but has a dependent: the short finish leaves it alone (atomically), RQ's own
    enqueues the dependent, which runs and keeps its result."""
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    rq_queue = Queue(queue, connection=client)
    parent = rq_queue.enqueue_call(JOBS + "noop", result_ttl=0, failure_ttl=3600)
    child = rq_queue.enqueue_call(JOBS + "answer", depends_on=parent, result_ttl=600, failure_ttl=3600)
    assert child.get_status() == JobStatus.DEFERRED
    _worker(cluster, queue)
    wait_for(lambda: child.get_status() == JobStatus.FINISHED, timeout=60, message="the dependent to run")
    assert child.return_value() == 42
    assert not client.exists(parent.key, parent.dependents_key)
    assert _leftovers(client, queue, [parent.id]) == []
    assert child.id in rq_queue.finished_job_registry.get_job_ids()


def test_a_job_that_keeps_its_result_is_in_the_finished_registry_with_it(backend, cluster):
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    _worker(cluster, queue)
    _lanes(client, queue, 1)
    job = Queue(queue, connection=client).enqueue_call(JOBS + "answer", result_ttl=600, failure_ttl=3600)
    wait_for(lambda: job.get_status() == JobStatus.FINISHED, timeout=60, message="the job to finish")
    assert job.return_value() == 42
    assert job.id in Queue(queue, connection=client).finished_job_registry.get_job_ids()
    assert client.zrange(f"rq:wip:{queue}", 0, -1) == []
    assert list(client.scan_iter(f"rq:execution:{job.id}:*")) == []


def test_a_failing_job_lands_in_the_failed_registry_with_its_traceback_and_the_worker_goes_on(backend, cluster):
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    _worker(cluster, queue)
    [lane] = _lanes(client, queue, 1)
    rq_queue = Queue(queue, connection=client)
    failing = rq_queue.enqueue_call(JOBS + "fail", result_ttl=0, failure_ttl=3600)
    wait_for(lambda: failing.id in rq_queue.failed_job_registry.get_job_ids(), timeout=60,
             message="the job in the failed registry")
    failed = Job.fetch(failing.id, connection=client)
    assert failed.get_status() == JobStatus.FAILED
    assert "ValueError: broken on purpose" in failed.latest_result().exc_string
    assert client.zrange(f"rq:wip:{queue}", 0, -1) == []
    assert int(client.hget(lane.key, "failed_job_count")) == 1
    after = rq_queue.enqueue_call(JOBS + "noop", result_ttl=0, failure_ttl=3600)
    wait_for(lambda: _successes(client, lane) == 1, timeout=60, message="the next job to run")
    assert _leftovers(client, queue, [after.id]) == []
    assert rq_queue.failed_job_registry.get_job_ids() == [failing.id]


def test_a_job_past_its_timeout_fails_in_either_lane(backend, cluster):
    """Two jobs that outlive their 2 s timeout, one in each lane of one process: the main thread's lane stops
    its job with RQ's alarm signal, the other lane with a timer (tasks/worker.py); both land in the failed
    registry as timed out, and both lanes are idle again."""
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    _worker(cluster, queue, threads=2)
    lanes = _lanes(client, queue, 2)
    rq_queue = Queue(queue, connection=client)
    jobs = [rq_queue.enqueue_call(JOBS + "sleep", args=(60,), timeout=2, result_ttl=0, failure_ttl=3600)
            for _ in range(2)]
    wait_for(lambda: len(rq_queue.failed_job_registry.get_job_ids()) == 2, timeout=60,
             message="both jobs in the failed registry")
    for job in jobs:
        assert "JobTimeoutException" in Job.fetch(job.id, connection=client).latest_result().exc_string
    assert {Job.fetch(job.id, connection=client).worker_name for job in jobs} == {lane.name for lane in lanes}
    assert client.zrange(f"rq:wip:{queue}", 0, -1) == []
    wait_for(lambda: all(client.hget(lane.key, "state") == b"idle" for lane in lanes), timeout=30,
             message="both lanes idle again")


def test_a_running_job_is_where_rq_and_the_reconciler_look_for_it(backend, cluster):
    """The start is one transaction instead of RQ's two, with the same writes: while the job runs, its hash says
    started, by which worker and since when (what engine/scheduler.py's reconciler reads), its execution is in
    the queue's started-job registry, and the worker's hash says busy with it."""
    queue, client = f"bk-{uuid.uuid4().hex[:8]}", _client(backend)
    _worker(cluster, queue)
    [lane] = _lanes(client, queue, 1)
    rq_queue = Queue(queue, connection=client)
    job = rq_queue.enqueue_call(JOBS + "sleep", args=(5,), timeout=30, result_ttl=0, failure_ttl=3600)
    wait_for(lambda: job.get_status() == JobStatus.STARTED, timeout=30, message="the job to start")
    job.refresh()
    assert job.worker_name == lane.name and job.started_at is not None
    assert rq_queue.started_job_registry.get_job_ids() == [job.id]
    [execution] = job.get_executions()
    assert execution.worker_name == lane.name
    assert client.hget(lane.key, "current_job") == job.id.encode() and client.hget(lane.key, "state") == b"busy"
    wait_for(lambda: _successes(client, lane) == 1, timeout=30, message="the job to finish")
    assert _leftovers(client, queue, [job.id]) == []
