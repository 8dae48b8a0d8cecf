"""HTTP access to the registry service (or the real gateway behind REGISTRY_URL).

Two layers of retrying, on purpose: this client makes a couple of quick attempts with short
exponential backoff and jitter, which rides out a dropped connection or one failed request
without bothering the engine; an outage longer than that surfaces as RegistryUnavailable, and
the engine's own retry policy (seconds to a minute apart, for as long as it takes) keeps the
case waiting. A circuit breaker per registry turns a known outage into an immediate failure, so
waiting cases do not each spend a full timeout on a registry that is down.

Outcomes: a record (dict); None for "no such record" (404 `not_found`); RegistryUnavailable for
anything worth retrying later; RegistryProtocolError for answers retrying cannot fix.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeout

from engine.operators import RetryPolicy
from tasks.http import pool_manager

from .breaker import CircuitBreaker

log = logging.getLogger(__name__)

REGISTRIES = ("mvd", "sfr", "erzl", "egrul", "mo", "clinic")
BATCH_LIMIT = 1000  # items per batch lookup request (the registry service's limit)
_TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
_ACCEPT = {"Accept": "application/json"}
_SEND_JSON = {"Accept": "application/json", "Content-Type": "application/json"}
# Connections kept per registry host: one per operator thread of a worker (engine/service_worker.py's 8),
# so concurrent checks never open and drop extra ones.
POOL_SIZE = 8


class RegistryUnavailable(Exception):
    """The registry gave no usable answer now; the same call may well succeed later.

    `code` is one of registry_timeout, registry_unreachable, registry_error, registry_circuit_open.
    `retry_after` (seconds, set when the registry's breaker is open): when a new try may get through.
    """

    def __init__(self, registry: str, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{registry}: {message}")
        self.registry = registry
        self.code = code
        self.retry_after = retry_after


class RegistryProtocolError(Exception):
    """The registry answered, but not as the API says (a 4xx other than not_found, a body that is not JSON)."""


class RegistryConflict(RegistryProtocolError):
    """409: the registry refused a change because of its current state (a clinic's slot already taken).

    `code` is the error's code; `body` the whole answer (a clinic adds the next free slots to offer).
    """

    def __init__(self, registry: str, code: str, body: dict[str, Any]) -> None:
        super().__init__(f"{registry}: conflict {code}")
        self.code = code
        self.body = body


@dataclass(frozen=True)
class ClientSettings:
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    attempts: int = 3
    backoff: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        max_attempts=3, base_delay=0.2, factor=2.0, max_delay=1.0, jitter=0.5))
    breaker_failures: int = 5
    # An open breaker lets one trial call through this long after it opened: the first success releases
    # every call waiting for the registry, so this bounds the delay after an outage (the drills measured
    # 20-27 s of their recovery in a 30 s reset). One trial per registry and process every 10 s is no load.
    breaker_reset: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClientSettings:
        """REGISTRY_TIMEOUT (read timeout, s), REGISTRY_BREAKER_FAILURES, REGISTRY_BREAKER_RESET (s)."""
        default = cls()
        return cls(
            read_timeout=float(env.get("REGISTRY_TIMEOUT") or default.read_timeout),
            breaker_failures=int(env.get("REGISTRY_BREAKER_FAILURES") or default.breaker_failures),
            breaker_reset=float(env.get("REGISTRY_BREAKER_RESET") or default.breaker_reset),
        )

    def worst_case(self) -> float:
        """Longest a call can take: every attempt timing out, plus the longest backoff between them."""
        pauses = sum(self.backoff.max_delay * (1 + self.backoff.jitter) for _ in range(self.attempts - 1))
        return self.attempts * (self.connect_timeout + self.read_timeout) + pauses


class RegistryClient:
    """Thread-safe: one per process, shared by the worker's operator threads (and their breakers)."""

    def __init__(self, base_url: str, settings: ClientSettings | None = None,
                 on_recovered: Callable[[str], None] | None = None,
                 answered_at: Callable[[str], float | None] | None = None) -> None:
        """`on_recovered(registry)` is called after a success that ended an outage of `registry` (its
        breaker had opened): the product releases the calls that wait for that registry, and tells the
        other processes. `answered_at(registry)` is when some process last saw such a success (wall
        clock, None: never); an open breaker asks it before failing a call fast (`heard_answer`)."""
        self.on_recovered = on_recovered
        self.answered_at = answered_at
        self.base_url = base_url.rstrip("/")
        self.settings = settings or ClientSettings()
        # No retries or redirects of urllib3's own (tasks/http.py): _with_retries decides.
        self._http = pool_manager(
            self.base_url, num_pools=4, maxsize=POOL_SIZE, retries=False,
            timeout=urllib3.Timeout(connect=self.settings.connect_timeout, read=self.settings.read_timeout),
        )
        self._breakers = {name: CircuitBreaker(name, self.settings.breaker_failures, self.settings.breaker_reset)
                          for name in REGISTRIES}

    def breaker(self, registry: str) -> CircuitBreaker:
        return self._breakers[registry]

    def close(self) -> None:
        self._http.clear()

    def get(self, registry: str, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """GET `path` of `registry`: the JSON record, or None when the registry has no such record."""
        return self.request("GET", registry, path, params=params)

    def post(self, registry: str, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """POST a lookup (identifiers of people go in the body, never in the URL): the record, or None."""
        return self.request("POST", registry, path, body=body)

    def post_batch(self, registry: str, path: str, items: Sequence[Mapping[str, Any]],
                   limit: int = BATCH_LIMIT) -> list[dict[str, Any]]:
        """POST many lookups as {"items": [...]}, at most `limit` per request: the results in item order.

        One round trip per `limit` items (ЕРЗЛ takes 1,000), each an ordinary call through the breaker
        and quick retries; an answer that does not have one result per item is a RegistryProtocolError.
        """
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), limit):
            chunk = [dict(item) for item in items[start:start + limit]]
            answer = self.post(registry, path, {"items": chunk}) or {}
            got = answer.get("results")
            if not isinstance(got, list) or len(got) != len(chunk) or not all(isinstance(r, dict) for r in got):
                raise RegistryProtocolError(f"{registry} {path}: expected {len(chunk)} results")
            results.extend(got)
        return results

    def request(self, method: str, registry: str, path: str, *, params: Mapping[str, str] | None = None,
                body: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """One logical call, through the registry's breaker and with quick retries."""
        breaker = self._breakers[registry]
        if not breaker.allow() and not self._answered_elsewhere(registry, breaker):
            raise RegistryUnavailable(registry, "registry_circuit_open",
                                      f"circuit open after repeated failures; next try in {breaker.retry_in():.0f} s",
                                      retry_after=breaker.next_trial_in())
        try:
            result = self._with_retries(method, registry, path, params, body)
        except RegistryUnavailable as exc:
            breaker.record_failure()
            exc.retry_after = breaker.next_trial_in()
            raise
        except RegistryProtocolError:  # it answered, if wrongly: not a sign of an outage
            self._succeeded(registry)
            raise
        except BaseException:  # interrupted (the engine's deadline): tells nothing about the registry
            breaker.abandon()
            raise
        self._succeeded(registry)
        return result

    def _answered_elsewhere(self, registry: str, breaker: CircuitBreaker) -> bool:
        """Whether another process saw `registry` answer after this breaker opened, making this call its trial.

        After an outage the first success releases every waiting call at once; without this, the processes
        whose breaker was still open failed their share fast and sent it back to wait (up to the retry
        pause, 60 s) until their own reset timeout let a trial through."""
        if self.answered_at is None:
            return False
        try:
            at = self.answered_at(registry)
        except Exception as exc:  # nobody to ask (Redis down): the breaker's own timing applies
            log.debug("could not read when %s last answered: %s", registry, exc)
            return False
        return at is not None and breaker.heard_answer(at)

    def _succeeded(self, registry: str) -> None:
        if self._breakers[registry].record_success() and self.on_recovered is not None:
            log.warning("registry %s answers again", registry)
            try:
                self.on_recovered(registry)
            except Exception:  # the release only hastens retries that are due anyway
                log.exception("releasing the calls waiting for registry %s failed", registry)

    def _with_retries(self, method: str, registry: str, path: str, params: Mapping[str, str] | None,
                      body: Mapping[str, Any] | None) -> dict[str, Any] | None:
        attempt = 1  # lookups change nothing and the one write is idempotent: repeating a call is safe
        while True:
            try:
                return self._once(method, registry, path, params, body)
            except RegistryUnavailable as exc:
                if attempt >= self.settings.attempts:
                    raise
                delay = self.settings.backoff.delay(attempt)
                log.info("%s (attempt %d of %d); retrying in %.2f s", exc, attempt, self.settings.attempts, delay)
                time.sleep(delay)
                attempt += 1

    def _once(self, method: str, registry: str, path: str, params: Mapping[str, str] | None,
              body: Mapping[str, Any] | None) -> dict[str, Any] | None:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            resp = self._http.request(method, url, body=data, headers=_ACCEPT if data is None else _SEND_JSON)
        except NewConnectionError as exc:  # refused or unresolvable: a kind of ConnectTimeoutError to urllib3
            raise RegistryUnavailable(registry, "registry_unreachable", f"{exc.__class__.__name__}: {exc}") from exc
        except HTTPTimeout as exc:
            raise RegistryUnavailable(registry, "registry_timeout", f"no answer in time ({exc.__class__.__name__})") \
                from exc
        except HTTPError as exc:  # the connection dropped, a malformed answer
            raise RegistryUnavailable(registry, "registry_unreachable", f"{exc.__class__.__name__}: {exc}") from exc
        status = resp.status
        if status not in (200, 201):  # an error answer: its JSON, read once
            error = _json_object(resp.data)
            code = _error_code(error)
            if status in _TRANSIENT_STATUSES:
                raise RegistryUnavailable(registry, "registry_error", f"HTTP {status} {code}")
            if status == 404 and code == "not_found":
                return None
            if status == 409:
                raise RegistryConflict(registry, code, error)
            raise RegistryProtocolError(f"{registry} {path}: HTTP {status} {code}")
        try:
            answer = json.loads(resp.data)
        except ValueError as exc:
            raise RegistryProtocolError(f"{registry} {path}: the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise RegistryProtocolError(f"{registry} {path}: the answer is not a JSON object")
        return answer


def _json_object(data: bytes) -> dict[str, Any]:
    """An error answer's JSON object, or {} when it is not one."""
    try:
        answer = json.loads(data)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error_code(answer: dict[str, Any]) -> str:
    """The code of an error answer ({"error": {"code": ...}}), or "" when it has none."""
    error = answer.get("error")
    return str(error["code"]) if isinstance(error, dict) and "code" in error else ""
