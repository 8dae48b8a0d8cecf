"""Child processes that end with the process that started them, however it ends.

A supervisor stopped with SIGTERM stops its children itself; one killed with SIGKILL (or by the OOM
killer) runs no code at all, and its children would live on as orphans - workers still taking jobs,
a web server still holding its port. On Linux the kernel can deliver a signal to a child when its
parent dies (prctl PR_SET_PDEATHSIG), set in the child between fork and exec. Elsewhere this is a
no-op and only orderly stops end the children.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when the starting thread's process dies.

    Returns None where the kernel offers no such thing (not Linux), so callers can pass it as it is.
    The signal fires when the *thread* that forked the child exits, so start children from a thread
    that lives as long as they should (the supervisor's main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def arm() -> None:
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died between fork and prctl: nobody would signal us
            os.kill(os.getpid(), sig)

    return arm
