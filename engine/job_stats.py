"""How many RQ jobs finished, per queue and outcome, counted in Redis so all workers add to one tally.

RQ keeps no such total: our jobs are enqueued with result_ttl=0, so its finished-job registry stays
empty, and each worker's own success/failure counters disappear with the worker. The counts are
monotonic for as long as Redis keeps them, which is what a Prometheus counter needs (a reset after
a Redis restart reads as a counter reset).
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

JOB_COUNTS_KEY = "backoffice:metrics:jobs"
DONE, FAILED = "done", "failed"


def count_job(redis: Redis, queue: str, outcome: str) -> None:
    """Add one finished job; a Redis error is logged, never raised (the job's work is already done)."""
    try:
        redis.hincrby(JOB_COUNTS_KEY, f"{queue}\t{outcome}", 1)
    except RedisError as exc:
        log.warning("could not count a %s job of queue %s: %s", outcome, queue, exc)


def job_counts(redis: Redis) -> dict[tuple[str, str], int]:
    """(queue, outcome) -> jobs counted so far."""
    counts = {}
    for field, value in redis.hgetall(JOB_COUNTS_KEY).items():
        queue, _, outcome = field.decode().rpartition("\t")
        counts[(queue, outcome)] = int(value)
    return counts
