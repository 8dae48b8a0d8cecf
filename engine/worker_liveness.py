"""Which RQ workers are alive: a heartbeat key per worker, short-lived, renewed by a thread of the worker.

A worker killed mid-job (SIGKILL, OOM, a lost host) leaves its job "started" in RQ with nobody running
it. Without a sign of life the reconciler cannot tell a dead worker from a slow job, and had to wait for
the operator's whole timeout before re-queueing it (a minute and more after the kill). With one, the job
of a worker whose heartbeat expired is lost as soon as the key is gone (`TTL` seconds after the kill).

Two keys per worker name: `alive` expires `TTL` seconds after the last beat; `beats` (a day) says the
worker is one that beats at all. Only a worker with `beats` and without `alive` counts as dead: a
worker that never beat (another RQ worker on the queue, an in-process worker of a script) or a Redis
that came back empty (both keys gone, and with them the job) falls back to the timeout rule.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis

log = logging.getLogger(__name__)

TTL = 10.0  # seconds without a beat after which a worker counts as dead
BEAT_EVERY = 2.0  # seconds between beats: several beats may be missed under load before TTL passes
_MARK_TTL = 86400  # seconds the `beats` key outlives the last beat
_ALIVE = "engine:worker:{}:alive"
_BEATS = "engine:worker:{}:beats"


def beat(redis: Redis, name: str, ttl: float = TTL) -> None:
    """One sign of life of the worker `name`, good for `ttl` seconds."""
    with redis.pipeline() as pipe:
        pipe.set(_ALIVE.format(name), 1, px=max(1, int(ttl * 1000)))
        pipe.set(_BEATS.format(name), 1, ex=_MARK_TTL)
        pipe.execute()


class Heartbeat:
    """A daemon thread beating for the worker named `name` (which may change: a restarted RQ worker takes
    a new name) until `stop()`; a Redis error skips a beat, the next one tries again."""

    def __init__(self, redis: Redis, name: str) -> None:
        self.redis = redis
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._beat()  # before the first job: a started job's worker always has a live key
        self._thread.start()
        return self

    def rename(self, name: str) -> None:
        """The worker goes on under another name; it beats under it at once."""
        self.name = name
        self._beat()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(BEAT_EVERY):
            self._beat()

    def _beat(self) -> None:
        try:
            beat(self.redis, self.name)
        except Exception as exc:  # Redis down: the work is safe in the outbox; beat again later
            log.debug("worker heartbeat failed: %s", exc)


def dead_workers(redis: Redis, names: list[str]) -> set[str]:
    """The names among `names` of workers that beat and stopped beating (see the module's docstring)."""
    if not names:
        return set()
    with redis.pipeline() as pipe:
        for name in names:
            pipe.exists(_BEATS.format(name))
            pipe.exists(_ALIVE.format(name))
        answers = pipe.execute()
    return {name for name, beats, alive in zip(names, answers[::2], answers[1::2], strict=True)
            if beats and not alive}
