"""What scripts report to the runtime while the engine steps an instance.

Script functions such as `set_status` run deep inside SpiffWorkflow's task execution and have
no handle on the instance row; they record their effect in the unit of work of the current
runtime call (a context variable), and the runtime applies it when it saves the instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class UnitOfWork:
    statuses: list[str] = field(default_factory=list)  # every status set, in order: each is journaled

    @property
    def status(self) -> str | None:
        return self.statuses[-1] if self.statuses else None
    notes: list[tuple[str, str, dict]] = field(default_factory=list)  # (event, message, details)
    settled_calls: set[str] = field(default_factory=set)  # task guids whose outbox rows this step finished
    detached_calls: list[DetachedCall] = field(default_factory=list)  # outbox rows of no task (runtime.py)


@dataclass(frozen=True)
class DetachedCall:
    """A service call the instance owes but no task of its diagram waits for, e.g. the notice that it was
    cancelled: an outbox row like any other (retried, an incident when it keeps failing), whose result
    only settles the row. `label` names it where staff see it (incidents, journal)."""

    label: str
    operator: str
    params: dict[str, Any]


_current: ContextVar[UnitOfWork | None] = ContextVar("backoffice_unit_of_work", default=None)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        yield uow
    finally:
        _current.reset(token)


def current() -> UnitOfWork:
    uow = _current.get()
    if uow is None:
        raise RuntimeError("script function called outside of a runtime call")
    return uow
