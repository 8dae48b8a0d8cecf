"""The floor: what the same Redis and database can do with no engine at all.

An engine figure means little alone on an unknown machine; measured in the same run on the same
services, raw no-op RQ jobs/s and raw single-row commits/s say how close to the hardware the engine
gets. CPU-bound figures (a certificate render) get the CPU floor instead: one fixed piece of
Python and zlib work (``measure_cpu``), timed in the same run between the measured renders, so a
render can be read as a multiple of it on any machine and under any load.

Run as `python -m benchmarks.floor REDIS_URL QUEUE NAME` it is one floor worker process: a
SimpleWorker like `backoffice.cli worker` (no fork per job), with nothing of the engine loaded.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import text

NOOP_JOB = "benchmarks.operators.rq_noop"


@dataclass
class RqFloor:
    jobs: int
    workers: int
    seconds: float
    enqueue_seconds: float
    failed: int

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CpuFloor:
    samples_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)


_CPU_PAYLOAD = bytes(range(256)) * 128  # 32 KB, about the size of a certificate


def cpu_unit() -> float:
    """One unit of the CPU floor (~1 ms on a 2026 server core): interpreted loops, dict work and zlib,
    the mix a document render spends its time on. Returns its wall time in ms."""
    started = time.perf_counter()
    total, table = 0, {}
    for i in range(20000):
        table[i & 255] = total
        total += i * i % 7
    zlib.compress(_CPU_PAYLOAD, 6)
    return (time.perf_counter() - started) * 1000


def measure_cpu(units: int) -> CpuFloor:
    """``units`` runs of ``cpu_unit`` (call it between the measured runs to share their conditions)."""
    return CpuFloor([cpu_unit() for _ in range(units)])


@dataclass
class CommitFloor:
    commits: int
    seconds: float
    table: str

    @property
    def commits_per_s(self) -> float:
        return self.commits / self.seconds if self.seconds > 0 else 0.0


def worker_main(redis_url: str, queue_name: str, name: str) -> None:
    """One floor worker: consume no-op jobs until SIGTERM (RQ's warm shutdown)."""
    connection = Redis.from_url(redis_url)
    worker = SimpleWorker([Queue(queue_name, connection=connection)], connection=connection, name=name)
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    worker.work(burst=False, with_scheduler=False, logging_level="WARNING")


def measure_rq(redis_url: str, workers: int, jobs: int, spawn: Callable[[str, list[str]], object],
               stop: Callable[[object], None], queue_name: str) -> RqFloor:
    """Time `jobs` no-op jobs through `workers` SimpleWorker processes, first enqueue to last finish.

    Workers are started and registered before the clock starts (process start-up is not RQ's
    per-job cost). Completion is read from each worker's own successful_job_count, which RQ
    increments after a job's bookkeeping is done, so the clock stops at the true end of the last job.
    """
    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    names = [f"{queue_name}-w{i}" for i in range(workers)]
    procs = [spawn(f"floor-{i}", ["-m", "benchmarks.floor", redis_url, queue_name, name])
             for i, name in enumerate(names)]
    keys = [SimpleWorker.redis_worker_namespace_prefix + name for name in names]
    try:
        deadline = time.monotonic() + 60
        while not all(connection.exists(k) for k in keys):
            if time.monotonic() > deadline:
                raise TimeoutError("floor workers did not register with Redis within 60 s")
            time.sleep(0.05)

        def done() -> int:
            with connection.pipeline() as pipe:
                for k in keys:
                    pipe.hget(k, "successful_job_count")
                return sum(int(v or 0) for v in pipe.execute())

        base = done()
        t0 = time.perf_counter()
        for _ in range(jobs):
            # One enqueue per job, as the engine's dispatcher does after each commit.
            queue.enqueue_call(NOOP_JOB, result_ttl=0, failure_ttl=3600)
        enqueued = time.perf_counter() - t0
        deadline = time.monotonic() + max(60.0, jobs / 50)
        while done() - base < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError("floor workers did not drain the queue")
            time.sleep(0.002)
        elapsed = time.perf_counter() - t0
        failed = queue.failed_job_registry.count
    finally:
        for proc in procs:
            stop(proc)
    queue.delete(delete_jobs=True)
    return RqFloor(jobs, workers, elapsed, enqueued, failed)


def measure_commits(database_url: str, seconds: float = 3.0, *, temporary: bool = False) -> CommitFloor:
    """Single-row INSERT + COMMIT in a loop on one connection, through SQLAlchemy like the engine.

    The default is a regular table: on PostgreSQL a temporary table is not WAL-logged, so its
    commits never wait for the WAL flush and would overstate the floor several times over.
    `temporary=True` measures that variant for reference.
    """
    from engine.db import make_engine

    engine = make_engine(database_url)
    table = "bench_floor_commit" + ("_tmp" if temporary else "")
    is_pg = engine.dialect.name == "postgresql"
    create = (f"CREATE {'TEMPORARY ' if temporary else ''}TABLE {table} "
              f"(id {'bigserial' if is_pg else 'INTEGER'} PRIMARY KEY, v integer, at text)")
    count = 0
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
                conn.exec_driver_sql(create)
            insert = text(f"INSERT INTO {table} (v, at) VALUES (:v, :at)")
            t0 = time.perf_counter()
            end = t0 + seconds
            while time.perf_counter() < end:
                with conn.begin():
                    conn.execute(insert, {"v": count, "at": "2025-01-01T00:00:00+00:00"})
                count += 1
            elapsed = time.perf_counter() - t0
            with conn.begin():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    finally:
        engine.dispose()
    return CommitFloor(count, elapsed, "temporary" if temporary else "regular")


if __name__ == "__main__":
    worker_main(sys.argv[1], sys.argv[2], sys.argv[3])
