"""RQ job entry points (the functions RQ imports by dotted name)."""

from __future__ import annotations

from rq import get_current_job

from .context import get_service_worker


def run_service_calls(call_ids: list[int]) -> int:
    job = get_current_job()
    return get_service_worker().run(list(call_ids), job.id if job else None)
