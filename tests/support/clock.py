"""The product's clock in tests: moved forward instead of waiting for deadlines to pass.

Every process a test session starts (the app in this process, workers, schedulers, command-line runs)
gets `CLOCK_OFFSET_FILE` pointing at one file of this pytest process (tests/support/backend.py), so
`advance_clock(timedelta(days=3))` lets three days pass for the whole product at once: timers fall due,
SLA escalations and reminders fire, retention periods end, on the product's normal deadlines. The
scheduler polls every BACKOFFICE_SCHEDULER_INTERVAL, so it notices the moved clock within that.

After each test the clock is set back to the system time (`reset_clock`, an autouse fixture), so the
next test starts at "now" again.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.clock import read_offset, utcnow, write_offset

# One clock per pytest process (an xdist worker has its own, as it has its own databases).
OFFSET_FILE = Path(tempfile.gettempdir()) / f"backoffice-test-clock-{os.getpid()}"


def advance_clock(delta: timedelta) -> datetime:
    """Move the clock of every product process forward by `delta`; returns the new "now"."""
    assert delta > timedelta(0), "the clock only moves forward within a test"
    write_offset(OFFSET_FILE, read_offset(OFFSET_FILE) + delta.total_seconds())
    return utcnow()


def advance_clock_to(moment: datetime, margin: timedelta = timedelta(seconds=1)) -> datetime:
    """Move the clock so that `moment` (aware) is `margin` in the past; returns the new "now"."""
    return advance_clock(max(moment + margin - utcnow(), timedelta(microseconds=1)))


def reset_clock() -> None:
    """Back to the system time (nothing to write when the clock was not moved)."""
    if read_offset(OFFSET_FILE) != 0:
        write_offset(OFFSET_FILE, 0)


@atexit.register
def _remove_offset_file() -> None:
    with contextlib.suppress(FileNotFoundError):
        OFFSET_FILE.unlink()


@pytest.fixture(autouse=True)
def clock_back_to_now() -> Iterator[None]:
    """Every test starts and ends at the system time, whatever the one before did with the clock."""
    reset_clock()
    yield
    reset_clock()
