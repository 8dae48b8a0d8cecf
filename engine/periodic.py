"""Periodic jobs of the scheduler process: work that runs every few minutes beside the timer loop.

They run in a thread of their own, so a long run (the first roll-up of a year of data takes minutes)
never holds up due timers. Each job is idempotent and may overlap a run of another scheduler process:
the callers' own writes settle that (e.g. INSERT ... ON CONFLICT DO NOTHING), so no lock is taken here.
A failing run is logged and tried again at the next interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: float  # seconds from the start of one run to the start of the next
    run: Callable[[], object]


def run_periodic(jobs: list[PeriodicJob], stop: threading.Event) -> None:
    """Run each job at once, then every `interval` seconds, until `stop` is set."""
    due = {job.name: 0.0 for job in jobs}
    while jobs and not stop.is_set():
        for job in jobs:
            if time.monotonic() >= due[job.name]:
                due[job.name] = time.monotonic() + job.interval
                run_once(job)
        stop.wait(max(0.1, min(due.values()) - time.monotonic()))


def run_once(job: PeriodicJob) -> bool:
    """One run of `job`, its failure logged rather than raised; True when it succeeded."""
    started = time.monotonic()
    try:
        job.run()
    except Exception:
        log.exception("periodic job %s failed", job.name)
        return False
    log.debug("periodic job %s done in %.1f s", job.name, time.monotonic() - started)
    return True
