"""The operator registry: service-task operators by name, each with its retry policy.

The application fills it with its operators (registry calls, PDF rendering, notifications) from the
modules its settings name; the engine only looks operators up by the name a diagram's
serviceTaskOperator gives.
"""

from __future__ import annotations

import importlib
import inspect
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Exhausted = Literal["error", "incident"]

_current_call: ContextVar[int | None] = ContextVar("current_call", default=None)


def current_call_id() -> int | None:
    """The outbox call an operator is running for (None when called directly).

    A job runs again after a crash or a failure, so an operator with side effects outside the
    instance (a mail, a file) can key them by this id to do each of them once per call.
    """
    return _current_call.get()


@contextmanager
def running_call(call_id: int) -> Iterator[None]:
    """Make `call_id` the current call while an operator runs (each worker thread has its own)."""
    token = _current_call.set(call_id)
    try:
        yield
    finally:
        _current_call.reset(token)


class OperatorError(Exception):
    """Raised by an operator to fail with a code; `retryable=False` skips the remaining attempts.

    `retry_after` (seconds) is the operator's own knowledge of when a retry can first succeed (a circuit
    breaker that lets a trial call through only then): the next attempt is not due before, so a
    dependency that is known to be down is not asked in vain by every waiting call."""

    def __init__(self, code: str, message: str = "", retryable: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.25  # +-25 % so that a burst of failures does not retry in lockstep

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure (1-based)."""
        raw = min(self.max_delay, self.base_delay * self.factor ** max(0, attempt - 1))
        return max(0.0, raw * (1 + random.uniform(-self.jitter, self.jitter)))

    def delay_for(self, attempt: int, retry_after: float | None) -> float:
        """The pause after the `attempt`-th failure: the backoff, but never shorter than the operator's
        `retry_after` (an attempt before then is known to fail: it would only cost a job), and never
        longer than `max_delay`."""
        backoff = self.delay(attempt)
        if retry_after is None:
            return backoff
        return min(max(self.max_delay, backoff), max(backoff, retry_after + random.uniform(0.0, 1.0)))


@dataclass(frozen=True)
class Operator:
    name: str
    func: Callable[..., Any]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_exhausted: Exhausted = "incident"
    error_code: str | None = None  # BPMN error code thrown when retries are used up
    timeout: float = 30.0


_REGISTRY: dict[str, Operator] = {}


def operator(
    name: str,
    *,
    retry: RetryPolicy | None = None,
    on_exhausted: Exhausted = "incident",
    error_code: str | None = None,
    timeout: float = 30.0,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the operator `name`; it receives the task's evaluated parameters."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = Operator(name, func, retry or RetryPolicy(), on_exhausted, error_code, timeout)
        return func

    return register


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool


@dataclass(frozen=True)
class Signature:
    """The keyword parameters an operator takes (what a diagram may pass) and whether it takes any other."""

    parameters: list[Parameter]
    open: bool  # ``**kwargs``: any name is accepted


def signature_of(func: Callable[..., Any]) -> Signature | None:
    """The operator function's parameters in order, or None when Python cannot tell (a builtin)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    named = [Parameter(p.name, p.default is p.empty) for p in params
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return Signature(named, any(p.kind is p.VAR_KEYWORD for p in params))


def tune_operator(name: str, *, retry: RetryPolicy | None = None, timeout: float | None = None) -> None:
    """Give a registered operator the retry policy and deadline of this process's configuration.

    Operators are registered when their module is imported, before any configuration exists; values an
    operator must take from the configuration (a drill's shorter pauses, a client's timeouts) are set
    here by the application once it has built its configuration.
    """
    op = _REGISTRY[name]
    _REGISTRY[name] = replace(op, retry=retry or op.retry, timeout=op.timeout if timeout is None else timeout)


def get_operator(name: str) -> Operator | None:
    return _REGISTRY.get(name)


def operator_names() -> list[str]:
    return sorted(_REGISTRY)


def load_operator_modules(modules: Iterable[str]) -> None:
    """Import modules whose import registers operators (the application's and any configured extras)."""
    for module in modules:
        importlib.import_module(module)
