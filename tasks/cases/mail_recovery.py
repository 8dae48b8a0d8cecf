"""After a mail outage, the notices that wait for the mail server go out as soon as it takes mail again.

A notice whose mail failed waits for its retry with a growing pause (NOTIFY_RETRY_*, up to ten minutes),
so after an outage of five minutes a case's letter could follow a quarter of an hour later. A letter
that went out shows the server is back: the notices waiting after `mail_failed` are then made due at
once (the scheduler re-queues them on its next pass). At most one such release every RELEASE_EVERY
seconds per process, so a steady flow of letters costs one cheap UPDATE now and then, not one per letter.
"""

from __future__ import annotations

import threading
import time

from engine.runtime import Runtime

RELEASE_EVERY = 5.0  # seconds
WAITING_ON_MAIL = "mail_failed: %"  # the last error of a notice whose mail did not go out (DeliveryFailed)

_lock = threading.Lock()
_released_at = float("-inf")


def mail_went_out(runtime: Runtime) -> int:
    """A letter was accepted by the mail server: release the notices waiting for it (see the module's
    docstring); returns how many were made due."""
    global _released_at
    with _lock:
        now = time.monotonic()
        if now - _released_at < RELEASE_EVERY:
            return 0
        _released_at = now
    return runtime.wake_waiting_calls(WAITING_ON_MAIL)
