"""Plain RQ jobs for the tests of the workers' own RQ bookkeeping (tests/test_worker_bookkeeping.py); a worker
imports them by name, as it does the engine's job."""

from __future__ import annotations

import time


def noop() -> None:
    """The cheapest job: what is measured around it is the worker's bookkeeping alone."""


def answer() -> int:
    """A job whose result is kept when it is enqueued with a result_ttl."""
    return 42


def fail() -> None:
    raise ValueError("broken on purpose")


def sleep(seconds: float) -> None:
    """Outlives a short job timeout. In short naps: a thread lane's timeout is an exception raised in its thread
    (RQ's TimerDeathPenalty), which lands between two bytecodes, not inside one long sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
