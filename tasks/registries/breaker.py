"""A circuit breaker per registry: after a run of failures, stop calling for a while and fail fast.

Hand-written rather than pybreaker because pybreaker holds its lock for the whole guarded call:
operators run on the service worker's thread pool, so every call to one registry would queue
behind the one in flight, and a slow registry would tie up all threads. Here the lock only
guards the state change; calls run concurrently.

closed -> (failure_threshold consecutive failures) -> open -> (reset_timeout passes) -> half-open:
exactly one trial call goes through while the others keep failing fast; its success closes the
breaker, its failure opens it again for another reset_timeout. An open breaker also goes half-open at
once when told the registry answered another process after it opened (`heard_answer`).

`next_trial_in()` tells a failing call when trying again can first make sense (the engine does not
retry it before: while the breaker is open every attempt is known to fail and would only cost a job),
and `record_success()` says when a success ended an outage, so that the calls waiting for the registry
are released at once: after an outage, cases go on as soon as a trial call got through (within one
reset_timeout, as calls keep arriving), not after the longest retry pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, name: str, failure_threshold: int = 5, reset_timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._wall = wall  # when it opened, comparable with what other processes report
        self._opened_wall = 0.0
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it is not open)."""
        with self._lock:
            if self._state != "open":
                return 0.0
            return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def next_trial_in(self) -> float | None:
        """Seconds until a call may find the breaker letting it through: None when it is closed (the
        caller's own backoff applies), the rest of the reset timeout when open, a whole reset timeout
        while a trial call is out in half-open: its failure reopens the breaker for that long, and its
        success releases the waiting calls at once (`record_success`), so nobody needs to poll meanwhile
        (a registry that hangs would otherwise see each waiting call every few seconds)."""
        with self._lock:
            if self._state == "closed":
                return None
            if self._state == "half_open":
                return self.reset_timeout
            return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def allow(self) -> bool:
        """Whether a call may go out now; a True in half-open makes this caller the trial call."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
                self._state = "half_open"
                self._trial_in_flight = False
            if self._state == "closed":
                return True
            if self._state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def heard_answer(self, answered_at: float) -> bool:
        """The registry answered another process at `answered_at` (wall clock): if that is after this
        breaker opened, the outage is over for it too, so it goes half-open now instead of after its reset
        timeout; True when this caller is the trial call (as `allow`)."""
        with self._lock:
            if self._state == "open" and answered_at > self._opened_wall:
                self._state = "half_open"
                self._trial_in_flight = False
            if self._state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> bool:
        """Close the breaker; True when this success ended an outage (the breaker was not closed)."""
        with self._lock:
            recovered = self._state != "closed"
            self._state = "closed"
            self._failures = 0
            self._trial_in_flight = False
            return recovered

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()
                self._opened_wall = self._wall()
                self._trial_in_flight = False

    def abandon(self) -> None:
        """A call that ended without telling whether the registry works: let another trial go out."""
        with self._lock:
            self._trial_in_flight = False
