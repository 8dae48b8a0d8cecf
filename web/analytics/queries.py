"""Step analytics: per element of a process the passes, median and 90th percentile of waiting and handling
time and the share of user tasks finished after their due time; per sequence flow how many cases took it;
per week and task type the breach rate.

Everything is read from the `step` rows the engine writes as elements complete, over one period of
completion times (`ended_at`), through the covering index on (process_id, ended_at). Waiting time runs
from when the element became active until work on it began (a person claimed the task), handling time
from then until it completed; an element nobody works on (a timer, a message) only waits and a service
task is handled from the start. On PostgreSQL each figure is one aggregate query (`percentile_cont`);
SQLite has no percentiles, so there the period's rows are aggregated in Python the same way.
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

PG_ELEMENTS = text("""
WITH s AS (
  SELECT element,
         extract(epoch FROM coalesce(started_at, ended_at) - entered_at) AS wait,
         extract(epoch FROM ended_at - coalesce(started_at, ended_at)) AS handling,
         due_at IS NOT NULL AS has_due, ended_at > due_at AS late
  FROM step WHERE process_id = :process AND ended_at >= :since AND ended_at < :until)
SELECT element, count(*) AS passes,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS wait_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY wait) AS wait_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY handling) AS handling_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY handling) AS handling_p90,
       count(*) FILTER (WHERE has_due) AS with_due, count(*) FILTER (WHERE late) AS late
FROM s GROUP BY element ORDER BY element""")
PG_FLOWS = text("""
SELECT source, element, count(DISTINCT instance_id) AS taken
FROM step WHERE process_id = :process AND ended_at >= :since AND ended_at < :until AND source IS NOT NULL
GROUP BY source, element""")
PG_WEEKS = text("""
SELECT date_trunc('week', ended_at AT TIME ZONE 'UTC')::date AS week, element,
       count(*) AS with_due, count(*) FILTER (WHERE ended_at > due_at) AS late
FROM step WHERE process_id = :process AND ended_at >= :since AND ended_at < :until AND due_at IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2""")
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
    week: date  # the Monday (UTC) the week starts
    element: str
    with_due: int
    late: int

    @property
    def breach_rate(self) -> float:
        return self.late / self.with_due if self.with_due else 0.0


@dataclass(frozen=True)
class Analytics:
    elements: list[ElementStats]
    flows: list[FlowCount]
    weeks: list[WeekBreach]


def analytics(session: Session, process_id: str, since: datetime, until: datetime) -> Analytics:
    params = {"process": process_id, "since": since, "until": until}
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, params)
    return _python(session, params)


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _postgres(session: Session, params: dict[str, Any]) -> Analytics:
    elements = [ElementStats(r.element, r.passes, _float(r.wait_p50), _float(r.wait_p90), _float(r.handling_p50),
                             _float(r.handling_p90), r.with_due, r.late)
                for r in session.execute(PG_ELEMENTS, params)]
    flows = [FlowCount(r.source, r.element, r.taken) for r in session.execute(PG_FLOWS, params)]
    weeks = [WeekBreach(r.week, r.element, r.with_due, r.late) for r in session.execute(PG_WEEKS, params)]
    return Analytics(elements, flows, weeks)


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
            monday = ended.date() - timedelta(days=ended.weekday())
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
