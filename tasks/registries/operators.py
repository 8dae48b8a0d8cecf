"""Service-task operators that check an application against the registries.

An outage never rejects a case: every transient failure (timeout, refused connection, 5xx, open
circuit) is a retryable OperatorError, and the retry policy allows practically unlimited
attempts at most a minute apart (REGISTRY_RETRY_MAX_DELAY, see tasks/config.py), so the case waits and goes
on by itself when the registry is back. How long a case may wait before it goes to an operator
is the process's business (an interrupting timer in the BPMN), not the operator's.
Only a call that can never succeed (the process passed incomplete data, or the registry answers
in a way the API does not allow) fails at once, with the BPMN error `registry_unavailable`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis, RedisError

from engine.operators import OperatorError, operator, tune_operator
from engine.runtime import Runtime
from tasks.config import REGISTRY_RETRY, AppConfig

from . import checks
from .client import ClientSettings, RegistryClient, RegistryProtocolError, RegistryUnavailable
from .recovery import last_answer, note_answer

log = logging.getLogger(__name__)
REGISTRY_OPERATORS = ("registry.check_passport", "registry.check_snils", "registry.find_policy",
                      "registries.check_organization")


def operator_timeout(client: ClientSettings) -> float:
    """The client gives up by itself well before the engine's deadline (all attempts timing out + backoff)."""
    return client.worst_case() + 5


def configure(config: AppConfig) -> None:
    """The configuration's retries (REGISTRY_RETRY_MAX_ATTEMPTS bounds them for drills: an outage then ends
    as a BPMN error or an incident) and the deadline its client's timeouts need."""
    for name in REGISTRY_OPERATORS:
        tune_operator(name, retry=config.registry_retry, timeout=operator_timeout(config.registry_client))

_client_lock = threading.Lock()
_client: RegistryClient | None = None


def registry_client() -> RegistryClient:
    """The process-wide client (its circuit breakers must be shared by all operator threads)."""
    global _client
    with _client_lock:
        if _client is None:
            from tasks.process import current_config

            config = current_config()
            _client = RegistryClient(config.registry_url, config.registry_client, on_recovered=registry_answers_again,
                                     answered_at=registry_answered_at)
        return _client


def registry_answers_again(registry: str) -> None:
    """A success of this process ended its outage of `registry`: note it for the other worker processes
    (their breakers may still be open and would fail the released calls fast), then release the calls
    waiting for it."""
    redis = _engine_redis()
    if redis is not None:
        try:
            note_answer(redis, registry)
        except RedisError as exc:  # the others then wait for their own trial; the release must still happen
            log.warning("could not tell the other workers that %s answers again: %s", registry, exc)
    release_waiting_calls(registry)


def registry_answered_at(registry: str) -> float | None:
    """When a worker process last saw `registry` answer after an outage (None: never, or no engine here)."""
    redis = _engine_redis()
    return None if redis is None else last_answer(redis, registry)


def _engine_redis() -> Redis | None:
    from engine.context import get_services

    try:
        return get_services().redis
    except RuntimeError:  # a process without the engine (a script): alone, nobody to tell
        return None


def release_waiting_calls(registry: str, runtime: Runtime | None = None) -> int:
    """The registry answers again after an outage: the calls whose last try failed on it are due now
    (their last error reads `registry_<code>: <registry>: ...`, RegistryUnavailable), so the scheduler
    re-queues them on its next pass instead of after their backoff. `runtime`: the process's engine (a
    worker's), unless given."""
    if runtime is None:
        from engine.context import get_services

        try:
            runtime = get_services().runtime
        except RuntimeError:  # a process without the engine (a script): nothing waits here
            return 0
    return runtime.wake_waiting_calls(f"registry_%: {registry}: %")  # `_` matches itself too


def reset_registry_client() -> None:
    """Forget the client so that the next call uses the installed configuration's registry (reconfiguration)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


@contextmanager
def _operator_errors() -> Iterator[None]:
    try:
        yield
    except RegistryUnavailable as exc:
        raise OperatorError(exc.code, str(exc), retryable=True, retry_after=exc.retry_after) from exc
    except RegistryProtocolError as exc:
        raise OperatorError("registry_protocol_error", str(exc), retryable=False) from exc
    except checks.InvalidInput as exc:
        raise OperatorError("invalid_input", str(exc), retryable=False) from exc


def _registry_operator(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return operator(name, retry=REGISTRY_RETRY, on_exhausted="error", error_code="registry_unavailable",
                    timeout=operator_timeout(ClientSettings()))


@_registry_operator("registry.check_passport")
def check_passport(person: dict) -> dict:
    """{found, status: valid|expired|replaced|lost|None, holder_match, document_match, mismatches}"""
    with _operator_errors():
        return checks.check_passport(registry_client(), person).to_dict()


@_registry_operator("registry.check_snils")
def check_snils(person: dict) -> dict:
    """{found, holder_match, mismatches}"""
    with _operator_errors():
        return checks.check_snils(registry_client(), person).to_dict()


@_registry_operator("registry.find_policy")
def find_policy(person: dict, policy_number: str | None = None, period: dict | None = None) -> dict:
    """{found, lookup: enp|snils, enp, insurer: {name, code}, region, valid_from, valid_to, status, reason,
    covers_period, holder_match, mismatches}"""
    with _operator_errors():
        return checks.find_policy(registry_client(), person, policy_number, period).to_dict()


@_registry_operator("registry.update_personal_data")
def update_personal_data(person: dict, policy_number: str) -> dict:
    """{updated, changed, holder, passport}: the change of ФИО and passport written to ЕРЗЛ (an outage
    retries like every registry call; the registry applies a repeated write as a no-op)."""
    with _operator_errors():
        return checks.update_personal_data(registry_client(), person, policy_number)


@_registry_operator("registries.check_organization")
def check_organization(organization: dict, representative: dict | None = None) -> dict:
    """{"organization_check": {found, status: active|liquidated|None, contributions_paid, match:
    exact|fuzzy|mismatch, mismatches: [inn|kpp|ogrn|name], registry_name}}: facts for the process's DMN.
    Given the application's `representative` block, also `representative`: head_confirmed |
    head_not_confirmed | power_of_attorney (is the self-declared head the head ЕГРЮЛ names?)."""
    with _operator_errors():
        check = checks.check_organization(registry_client(), organization, representative)
        return {"organization_check": check.to_dict()}
