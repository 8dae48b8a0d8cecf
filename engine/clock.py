"""The process's one clock: every "now" of the runtime and of what is built on it reads it here.

Normally it is the system clock in UTC, so that SQLite (naive) and PostgreSQL (aware) values compare alike.
For tests and drills only, the configuration may name an offset file (``Settings.clock_offset_file``):
its content is a number of seconds added to the system clock. The web app, the workers and the
scheduler are separate processes; pointed at the same file they all see the same moved time, so a test
can let three business days pass at once instead of shortening deadlines to seconds and sleeping.

The file is read again only when it changes (its inode, modification time or size), so a ``utcnow()``
costs one ``stat``. A missing or empty file means no offset. SpiffWorkflow's timer events call
``datetime.now`` and its tasks ``time.time`` themselves; ``use_offset_file`` points them at this clock too
(``_install_in_spiff``), so the engine and its timers can never disagree about whether a timer is due.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

_lock = threading.Lock()
_offset_file: Path | None = None
_cached: tuple[tuple[int, int, int], timedelta] | None = None


def utcnow() -> datetime:
    """The current moment, aware UTC, with the configured offset (none in production)."""
    return datetime.now(UTC) + offset()


def offset() -> timedelta:
    """How far this process's clock is ahead of the system clock (zero without an offset file)."""
    global _cached
    path = _offset_file
    if path is None:
        return timedelta(0)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return timedelta(0)
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        text = path.read_text(encoding="ascii").strip() if st.st_size else ""
        value = timedelta(seconds=float(text)) if text else timedelta(0)
        _cached = (key, value)
    return value


def use_offset_file(path: Path | None) -> None:
    """Make this process's clock read its offset from `path` (None: the system clock, as in production).

    Called by the entry point with what the configuration says; SpiffWorkflow's timers follow too.
    """
    global _offset_file, _cached
    with _lock:
        _offset_file, _cached = path, None
    if path is not None:
        _install_in_spiff()


def write_offset(path: Path, seconds: float) -> None:
    """Set the offset every process reading `path` sees (tests and drills): written aside, then renamed,
    so a reader never sees half a number."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{seconds:.6f}\n", encoding="ascii")
    os.replace(tmp, path)


def read_offset(path: Path) -> float:
    """The offset in seconds `path` holds now (0 when it is missing or empty)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return 0.0
    return float(text) if text else 0.0


class _SpiffTime:
    """The ``time`` module as SpiffWorkflow's ``task`` module sees it: only ``time()`` is used there."""

    @staticmethod
    def time() -> float:
        return utcnow().timestamp()


class _SpiffClock(datetime):
    """``datetime`` as SpiffWorkflow's timer module sees it: ``now`` comes from this clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = utcnow()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def _install_in_spiff() -> None:
    """Timer events compare due times with ``datetime.now(timezone.utc)`` inside SpiffWorkflow 3.2
    (``SpiffWorkflow.bpmn.specs.event_definitions.timer``); that module's ``datetime`` is replaced so those
    checks, durations and cycles count from this clock. Tasks stamp their state changes with ``time.time()``
    (``SpiffWorkflow.task``, read by engine/steps.py): that module's ``time`` follows too."""
    from SpiffWorkflow import task
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _SpiffClock
    task.time = _SpiffTime


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def parse_iso(value: str) -> datetime:
    """The moment in UTC: SQLite keeps neither the offset nor the zone of what it stores, so a value written
    with another offset (a timer at 10:00+03:00) must be turned to UTC before it is stored."""
    dt = datetime.fromisoformat(value)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
