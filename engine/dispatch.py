"""Pushing outbox rows to RQ after commit.

The row is the truth; the RQ job is only a wake-up call. A push that fails (Redis down) or a job
that disappears (Redis restarted or flushed) is repaired by the reconciler, so the only cost of
losing Redis is a delay.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from redis import Redis
from rq import Queue

log = logging.getLogger(__name__)

JOB_FUNC = "engine.jobs.run_service_calls"


@dataclass(frozen=True)
class JobRequest:
    job_id: str
    call_ids: tuple[int, ...]
    timeout: float


def new_job_id() -> str:
    return "svc-" + uuid.uuid4().hex


class Dispatcher:
    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.queue = Queue(queue_name, connection=redis)

    def push(self, requests: list[JobRequest]) -> None:
        if not requests:
            return
        try:
            with self.redis.pipeline() as pipe:
                for req in requests:
                    self.queue.enqueue_call(
                        JOB_FUNC,
                        args=(list(req.call_ids),),
                        job_id=req.job_id,
                        timeout=int(req.timeout) + 5,
                        result_ttl=0,
                        failure_ttl=3600,
                        pipeline=pipe,
                    )
                pipe.execute()
        except Exception:
            log.exception("push of %d job(s) to RQ failed; the reconciler will re-enqueue", len(requests))
