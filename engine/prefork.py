"""A pre-forking pool: one parent that has imported everything, N forked children that do the work.

A worker killed mid-job (SIGKILL, the OOM killer) used to be replaced by a fresh interpreter (docker's
restart policy, `backoffice run`'s supervisor), which spends seconds importing SpiffWorkflow, WeasyPrint,
SQLAlchemy and the product before it takes work; on a loaded machine the fault drills saw ~10 s per
replacement and 50 kills in a row leave nothing finishing for minutes. A fork of a parent that has
already imported all of it is ready in milliseconds, and the loaded code stays shared copy-on-write
(the caller freezes the collector's generations before the pool forks, so collections do not touch it).

The parent only forks, reaps and signals: it holds no connection, socket or thread, so nothing it
owns is shared by two processes (a database or Redis connection shared across a fork mixes the
replies of both); each child opens its own after the fork. The parent sleeps in `select` on a
signal wake-up pipe, so a dead child is seen (SIGCHLD) and replaced at once; a child that keeps failing
by itself within a second of its start (an error exit: a broken configuration) is replaced with a
growing delay instead of in a tight loop, while a killed one (SIGKILL, OOM) is always replaced at once.
SIGTERM or SIGINT to the parent is passed on once, as SIGTERM, to every child (each one finishes what
it is doing: RQ's warm shutdown) and the parent exits when they all have.

Each child runs in a process group of its own, so a Ctrl-C typed at a terminal reaches the parent
only and each child gets exactly one stop signal (a second one would be RQ's cold shutdown, ending a
job midway); and each gets SIGTERM from the kernel if the parent dies without passing it on
(SIGKILL of the parent, engine/lifetime.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from .lifetime import die_with_parent

log = logging.getLogger(__name__)

STOP_TIMEOUT = 60.0  # seconds the children get to finish their work after a stop before they are killed
QUICK_DEATH = 1.0  # a child that fails sooner than this after its fork counts as crashing at start
MAX_BACKOFF = 10.0  # the longest pause before replacing a child that keeps crashing at start


@dataclass
class _Slot:
    """One place in the pool: the child filling it now, and how its predecessors fared."""

    index: int
    pid: int = 0
    started_at: float = 0.0
    quick_deaths: int = 0
    due_at: float = 0.0  # when to fork its next child (while pid == 0)
    done: bool = False  # the child finished its work by itself and is not to be replaced


class ForkedPool:
    """Fork `processes` children running `target(slot)` (its return value is the child's exit code) and keep
    them running until the parent is asked to stop.

    `replace_finished`: whether a child that exits with 0 by itself (nobody asked it to) is replaced too;
    a burst worker's child that emptied the queue is not.
    """

    def __init__(self, target: Callable[[int], int | None], processes: int, *, replace_finished: bool = True,
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        if processes < 1:
            raise ValueError("a pool needs at least one process")
        self.target = target
        self.slots = [_Slot(i) for i in range(processes)]
        self.replace_finished = replace_finished
        self.stop_timeout = stop_timeout
        self._stop_signal: int | None = None
        self._wakeup: tuple[int, int] | None = None

    @property
    def pids(self) -> list[int]:
        return [slot.pid for slot in self.slots if slot.pid]

    def run(self) -> int:
        """Run the pool until a stop signal (or, with `replace_finished` off, until every child finished);
        returns 0 when every child ended in time, 1 when some had to be killed."""
        read_end, write_end = os.pipe()
        for fd in (read_end, write_end):
            os.set_blocking(fd, False)
        self._wakeup = (read_end, write_end)
        previous_fd = signal.set_wakeup_fd(write_end)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake `select`
        try:
            return self._loop(read_end)
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(read_end)
            os.close(write_end)
            self._wakeup = None

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stop_signal is None:
            self._stop_signal = signum

    def _loop(self, wakeup: int) -> int:
        arm = die_with_parent(signal.SIGTERM)  # made here, in the parent: it checks the child's parent is us
        stopping_since: float | None = None
        killed = False
        while True:
            now = time.monotonic()
            if self._stop_signal is not None and stopping_since is None:
                stopping_since = now
                log.info("signal %s: stopping %d worker processes", self._stop_signal, len(self.pids))
                self._signal_children(signal.SIGTERM)
            if stopping_since is None:
                for slot in self.slots:
                    if not slot.pid and not slot.done and slot.due_at <= now:
                        self._fork(slot, arm)
            if not self.pids and (stopping_since is not None or all(slot.done for slot in self.slots)):
                return 1 if killed else 0
            if stopping_since is not None and now - stopping_since > self.stop_timeout and not killed:
                log.warning("worker processes %s did not stop within %.0f s; killing them", self.pids,
                            self.stop_timeout)
                self._signal_children(signal.SIGKILL)
                killed = True
            with contextlib.suppress(InterruptedError):
                select.select([wakeup], [], [], self._sleep(now, stopping_since))
            with contextlib.suppress(BlockingIOError):
                while os.read(wakeup, 512):
                    pass
            self._reap(stopping=stopping_since is not None)

    def _sleep(self, now: float, stopping_since: float | None) -> float:
        """How long `select` may wait: until the next due fork or the stop deadline, at most a second."""
        waits = [1.0]
        if stopping_since is not None:
            waits.append(stopping_since + self.stop_timeout - now)
        else:
            waits += [slot.due_at - now for slot in self.slots if not slot.pid and not slot.done]
        return max(0.0, min(waits))

    def _fork(self, slot: _Slot, arm: Callable[[], None] | None) -> None:
        pid = os.fork()
        if pid == 0:
            self._child(slot.index, arm)  # never returns
        slot.pid, slot.started_at = pid, time.monotonic()
        log.info("worker process %d started in slot %d", pid, slot.index)

    def _child(self, index: int, arm: Callable[[], None] | None) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            assert self._wakeup is not None
            for fd in self._wakeup:
                os.close(fd)
            os.setpgid(0, 0)
            if arm is not None:
                arm()
            result = self.target(index)
            code = 0 if result is None else int(result)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            log.exception("worker process %d failed", os.getpid())
        finally:
            with contextlib.suppress(Exception):
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _reap(self, stopping: bool) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            lived = time.monotonic() - slot.started_at
            slot.pid = 0
            if stopping:
                log.info("worker process %d stopped (%s)", pid, _describe(code))
                continue
            if code == 0 and not self.replace_finished:
                slot.done = True
                continue
            # Only a child that ended by itself right after its start (a broken configuration, or work that returns
            # at once) counts as crashing, so its replacements back off instead of forking in a tight loop; one
            # killed by a signal (SIGKILL, the OOM killer) was working, and its replacement is due at once.
            slot.quick_deaths = slot.quick_deaths + 1 if code >= 0 and lived < QUICK_DEATH else 0
            delay = min(MAX_BACKOFF, 0.5 * 2 ** (slot.quick_deaths - 1)) if slot.quick_deaths else 0.0
            slot.due_at = time.monotonic() + delay
            log.warning("worker process %d %s after %.1f s; replacing it%s", pid, _describe(code), lived,
                        f" in {delay:.1f} s" if delay else "")

    def _signal_children(self, sig: int) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with {code}"
