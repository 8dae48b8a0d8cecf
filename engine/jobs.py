"""RQ job entry points (the functions RQ imports by dotted name)."""

from __future__ import annotations

from rq import get_current_job

from .context import get_service_worker
from .job_stats import DONE, FAILED, count_job
from .log_context import log_context


def run_service_calls(call_ids: list[int]) -> int:
    job = get_current_job()
    if job is None:  # called directly (a test or a script): nothing to count or to name in the log
        return _run(list(call_ids), None)
    with log_context(job_id=job.id):
        try:
            ran = _run(list(call_ids), job.id)
        except BaseException:  # a timeout or a crash: RQ marks the job failed after this re-raise
            count_job(job.connection, job.origin, FAILED)
            raise
    count_job(job.connection, job.origin, DONE)
    return ran


def _run(call_ids: list[int], job_id: str | None) -> int:
    """One session for the job: the runner's reads and the outcomes it applies share it."""
    worker = get_service_worker()
    with worker.runtime.db.scope():
        return worker.run(call_ids, job_id)
