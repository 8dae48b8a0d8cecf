"""The SLA state of a human task - «в срок», «под угрозой», «просрочено» - decided in one place.

The rule (the same for the task list, the filters, the task page, the API and the supervisor's
dashboard):

- **overdue** (`overdue`, «Просрочено»): the due time has passed (`due_at < now`);
- **at risk** (`at_risk`, «Под угрозой»): not overdue, but less than a quarter of the time the SLA
  allowed (`due_at - created_at`) is left, *or* less than 4 hours are left. The quarter scales with
  the SLA (a 10-business-day appeal is at risk 3½ days ahead), the 4 hours keep a one-business-day
  review from turning amber only an hour or two before its deadline;
- **on time** (`on_time`, «В срок»): everything else, including tasks without a due time.

`sla_state()` applies the rule to one task in Python; `sla_condition()` is the same rule as a SQL
predicate (for filters and counts), built from the same constants. In SQL the quarter is written
without division: «remaining < allowed / 4» is `4·(due - now) < due - created`, i.e.
`3·due + created < 4·now` over epoch seconds, so `now` stays a bound constant and the left side
depends only on the row. A task with exactly a quarter (or exactly 4 hours) left is still on time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from engine.clock import aware
from engine.models import HumanTask

ON_TIME, AT_RISK, OVERDUE = "on_time", "at_risk", "overdue"
SLA_STATES: tuple[str, ...] = (ON_TIME, AT_RISK, OVERDUE)
SLA_LABELS: dict[str, str] = {ON_TIME: "В срок", AT_RISK: "Под угрозой", OVERDUE: "Просрочено"}
RISK_SHARE = 0.25  # at risk when less than this share of the allowed time is left...
RISK_MARGIN = timedelta(hours=4)  # ...or less than this


def at_risk_from(created_at: datetime, due_at: datetime) -> datetime:
    """The moment a task turns «под угрозой»: the earlier of (due - 4 h) and (due - 25 % of the allowed time)."""
    created, due = aware(created_at), aware(due_at)
    return min(due - RISK_MARGIN, due - (due - created) * RISK_SHARE)


def sla_state(created_at: datetime, due_at: datetime | None, now: datetime) -> str:
    """`on_time`, `at_risk` or `overdue` for one task (see the module's docstring for the rule)."""
    if due_at is None:
        return ON_TIME
    now = aware(now)
    if aware(due_at) < now:
        return OVERDUE
    if now > at_risk_from(created_at, due_at):
        return AT_RISK
    return ON_TIME


class epoch_seconds(FunctionElement):
    """Seconds since 1970 of a timestamp column, on PostgreSQL and SQLite alike."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element: Any, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    # date_part gives a double; EXTRACT returns numeric since PostgreSQL 14, about twice as slow here.
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text; julianday() reads that text (2440587.5 = 1970-01-01).
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def _risk_started(now: datetime, created: Any = HumanTask.created_at, due: Any = HumanTask.due_at) -> ColumnElement:
    """SQL: the row is past `at_risk_from` (under 4 h, or under a quarter of its time left)."""
    now_epoch = aware(now).timestamp()
    share = 1 - RISK_SHARE  # at risk when share·due + RISK_SHARE·created < now, scaled by 1/RISK_SHARE
    return or_(due < literal(aware(now) + RISK_MARGIN, due.type),
               epoch_seconds(due) * (share / RISK_SHARE) + epoch_seconds(created) < now_epoch / RISK_SHARE)


def sla_condition(state: str, now: datetime, created: Any = HumanTask.created_at,
                  due: Any = HumanTask.due_at) -> ColumnElement:
    """The SQL predicate for tasks in `state` at `now` (columns default to human_task's)."""
    moment = literal(aware(now), due.type)
    if state == OVERDUE:
        return due < moment
    if state == AT_RISK:
        return and_(due >= moment, _risk_started(now, created, due))
    if state == ON_TIME:
        return or_(due.is_(None), and_(due >= moment, ~_risk_started(now, created, due)))
    raise ValueError(f"unknown SLA state {state!r}")
