"""What a log line is about: the request, the case and the job being worked on when it was written.

The web request, the RQ job and the scheduler each set what they know with `log_context(...)`;
`ContextFilter`, attached to the log handlers, copies the values onto every record, so lines
written deep inside the engine or by a library carry them without being passed anything.
Context variables rather than thread-locals: a value set for a job follows the work into the
threads that run its operators (`copy_context`), and each web request thread has its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

REQUEST_ID = "request_id"
CASE_NUMBER = "case_number"  # the instance's business key
JOB_ID = "job_id"

_VARS: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"log_{name}", default=None) for name in (REQUEST_ID, CASE_NUMBER, JOB_ID)
}


def bind(**values: str | None) -> list[tuple[str, Token]]:
    """Set context values (None leaves a field as it is); `unbind` the returned tokens to restore."""
    unknown = set(values) - set(_VARS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    return [(name, _VARS[name].set(value)) for name, value in values.items() if value is not None]


def unbind(tokens: list[tuple[str, Token]]) -> None:
    for name, token in reversed(tokens):
        try:
            _VARS[name].reset(token)
        except ValueError:  # undone in another context (a response streamed after its request): just clear
            _VARS[name].set(None)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Lines logged inside the block carry these values (request_id, case_number, job_id)."""
    tokens = bind(**values)
    try:
        yield
    finally:
        unbind(tokens)


def current(name: str) -> str | None:
    return _VARS[name].get()


class ContextFilter(logging.Filter):
    """Adds the known context values to each record as attributes; unknown ones are left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
