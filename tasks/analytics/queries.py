"""Step analytics: per element of a process the passes, median and 90th percentile of waiting and handling
time and the share of user tasks finished after their due time; per sequence flow how many cases took it;
per week and task type the breach rate.

Everything is read from the `step` rows the engine writes as elements complete, over one period of
completion times (`ended_at`), through the covering index on (process_id, ended_at). Waiting time runs
from when the element became active until work on it began (a person claimed the task), handling time
from then until it completed; an element nobody works on (a timer, a message) only waits and a service
task is handled from the start. Days are Moscow days.

On PostgreSQL a period is read from daily roll-ups (tasks.analytics.models): the scheduler's job rolls up
each finished day once, in one scan of that day's steps, and the days it has not reached yet (today) are
read from the steps themselves; percentiles come from the roll-ups' histograms (within 5 %), counts are
exact. SQLite serves small installations: there the period's rows are aggregated in Python, percentiles exact.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.clock import aware
from forms.dates import MOSCOW, moscow_midnight

SQL_ROWS = text("""
SELECT element, source, instance_id, entered_at, started_at, ended_at, due_at
FROM step WHERE process_id = :process AND ended_at >= :since AND ended_at < :until""")


@dataclass(frozen=True)
class ElementStats:
    element: str
    passes: int
    wait_p50: float | None  # seconds
    wait_p90: float | None
    handling_p50: float | None
    handling_p90: float | None
    with_due: int  # passes that had a due time (user tasks under an SLA)
    late: int  # of those, finished after it

    @property
    def breach_rate(self) -> float | None:
        return self.late / self.with_due if self.with_due else None


@dataclass(frozen=True)
class FlowCount:
    source: str
    target: str
    taken: int  # cases that went from source to target


@dataclass(frozen=True)
class WeekBreach:
    week: date  # the Monday the week starts (Moscow days)
    element: str
    with_due: int
    late: int

    @property
    def breach_rate(self) -> float:
        return self.late / self.with_due if self.with_due else 0.0


@dataclass(frozen=True)
class Freshness:
    """How current PostgreSQL's roll-up based figures are (tasks/analytics/rollup.py)."""

    rolled_through: date | None  # the last Moscow day the roll-up job has summed
    rolled_at: datetime | None  # when it did
    raw_from: date | None  # the days from here to the period's end are read from the steps themselves
    missing_days: int  # days of the period with steps that neither the roll-ups nor the page read yet


@dataclass(frozen=True)
class Analytics:
    elements: list[ElementStats]
    flows: list[FlowCount]
    weeks: list[WeekBreach]
    freshness: Freshness | None = None  # None: computed from the steps directly (SQLite), always current


def analytics(session: Session, process_id: str, first: date, last: date) -> Analytics:
    """The figures of the steps that ended on the Moscow days from `first` to `last`."""
    if session.get_bind().dialect.name == "postgresql":
        from . import rollup  # it builds on this module's queries and figures

        return rollup.analytics(session, process_id, first, last)
    return _python(session, {"process": process_id, "since": moscow_midnight(first),
                             "until": moscow_midnight(last + timedelta(days=1))})


def percentile(values: list[float], q: float) -> float | None:
    """PostgreSQL's percentile_cont (linear interpolation between the two nearest ranks), for SQLite."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 3)


def _python(session: Session, params: dict[str, Any]) -> Analytics:
    waits: dict[str, list[float]] = defaultdict(list)
    handling: dict[str, list[float]] = defaultdict(list)
    due: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    flows: dict[tuple[str, str], set[int]] = defaultdict(set)
    weeks: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in session.execute(SQL_ROWS, params):
        entered, ended = aware(_dt(r.entered_at)), aware(_dt(r.ended_at))
        started = aware(_dt(r.started_at)) or ended
        waits[r.element].append((started - entered).total_seconds())
        handling[r.element].append((ended - started).total_seconds())
        if r.due_at is not None:
            late = int(ended > aware(_dt(r.due_at)))
            due[r.element][0] += 1
            due[r.element][1] += late
            day = ended.astimezone(MOSCOW).date()
            monday = day - timedelta(days=day.weekday())
            weeks[(monday, r.element)][0] += 1
            weeks[(monday, r.element)][1] += late
        if r.source is not None:
            flows[(r.source, r.element)].add(r.instance_id)
    elements = [ElementStats(e, len(waits[e]), percentile(waits[e], .5), percentile(waits[e], .9),
                             percentile(handling[e], .5), percentile(handling[e], .9), due[e][0], due[e][1])
                for e in sorted(waits)]
    return Analytics(elements, [FlowCount(s, t, len(ids)) for (s, t), ids in flows.items()],
                     [WeekBreach(w, e, n, late) for (w, e), (n, late) in sorted(weeks.items())])


def _dt(value: Any) -> datetime | None:
    """SQLite hands text SQL its stored strings."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
