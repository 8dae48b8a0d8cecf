"""What one worker process tells the others when a registry answers again after an outage.

Every process has its own circuit breakers. When the first of them gets a success through after an
outage, every call waiting for that registry is released at once (operators.release_waiting_calls);
a process whose breaker opened later would still fail its share of them fast for up to its reset
timeout, and those calls would wait for their next retry (up to REGISTRY_RETRY_MAX_DELAY, 60 s). So the
time of the success goes into Redis, which all worker processes share, and an open breaker asks for it
before failing a call fast (RegistryClient, CircuitBreaker.heard_answer): one GET per call refused,
only while a breaker is open.
"""

from __future__ import annotations

import time

from redis import Redis

_KEY = "registry:{}:answered_at"
_KEEP_S = 3600  # longer than any breaker stays open


def note_answer(redis: Redis, registry: str, at: float | None = None) -> None:
    """`registry` answered a process after an outage, at `at` (wall clock, default now)."""
    redis.set(_KEY.format(registry), repr(time.time() if at is None else at), ex=_KEEP_S)


def last_answer(redis: Redis, registry: str) -> float | None:
    """When a process last noted that `registry` answered after an outage; None when none did lately."""
    value = redis.get(_KEY.format(registry))
    return float(value) if value is not None else None
