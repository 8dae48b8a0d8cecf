"""The supervisor's figures, each computed by the database, not by loading cases into Python.

A supervisor looks at the dashboard many times a day on a table of a million cases, so every
figure is one aggregate query: cases by status (the instances of the case processes), open tasks
per queue, SLA counts (engine.sla_state: one rule for the inbox and the dashboard), and the
time to decision from the engine's journal (`ix_journal_decision_at`, migration 0005).

"Decision" is the first time a case reaches ready, rejected or closed (a `status_changed` journal
row); the time to decision runs from the case's submission to that row. A case refused and later
issued after a resubmission counts once, at its first decision: the figure measures how long
applicants wait for an answer. The median is computed by PostgreSQL (`percentile_cont`); SQLite
has no such aggregate, so there the durations of the window are read and the median is taken in
Python (SQLite is the single-machine mode, where the windows are small).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, String, cast, func, null, select, text, union_all
from sqlalchemy.orm import Session, aliased

from engine.clock import aware, utcnow
from engine.models import HumanTask, JournalEntry, ProcessInstance
from engine.sla_state import AT_RISK, OVERDUE, sla_condition
from forms.dates import MOSCOW, moscow_midnight
from tasks.accounts.roles import ROLE_LABELS
from tasks.cases import catalogue
from tasks.cases.labels import STATUS_LABELS, status_label
from tasks.cases.models.cases import Application

DECISION_STATUSES = ("ready", "rejected", "closed")
ISSUED = "ready"
CHART_DAYS = 14
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Count:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class DecisionTimes:
    """Decisions in a window and the median time from submission to decision (None: no decisions)."""

    since: datetime
    decisions: int
    median_seconds: float | None


@dataclass(frozen=True)
class DayDecisions:
    day: date
    issued: int
    refused: int

    @property
    def total(self) -> int:
        return self.issued + self.refused


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    cases_by_status: list[Count]
    open_tasks: list[Count]
    sla_at_risk: int
    sla_overdue: int
    today: DecisionTimes
    last_7_days: DecisionTimes
    per_day: list[DayDecisions]

    @property
    def cases_total(self) -> int:
        return sum(c.count for c in self.cases_by_status)

    @property
    def open_tasks_total(self) -> int:
        return sum(c.count for c in self.open_tasks)

    def as_json(self) -> dict[str, Any]:
        """The API's shape: ISO dates and times, durations in seconds."""
        def window(w: DecisionTimes) -> dict[str, Any]:
            return {"since": w.since.isoformat(), "decisions": w.decisions, "median_seconds": w.median_seconds}

        return {
            "generated_at": self.generated_at.isoformat(),
            "cases": {"total": self.cases_total,
                      "by_status": [{"status": c.code, "label": c.label, "count": c.count}
                                    for c in self.cases_by_status]},
            "open_tasks": {"total": self.open_tasks_total,
                           "by_role": [{"role": c.code, "label": c.label, "count": c.count}
                                       for c in self.open_tasks]},
            "sla": {"at_risk": self.sla_at_risk, "overdue": self.sla_overdue},
            "time_to_decision": {"today": window(self.today), "last_7_days": window(self.last_7_days)},
            "decisions_per_day": [{**asdict(d), "day": d.day.isoformat()} for d in self.per_day],
        }


# ------------------------------------------------------------------------------ the figures
def dashboard(session: Session, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard as of `now` (UTC; «today» and the chart's days are Moscow days)."""
    now = (now or utcnow()).astimezone(UTC)  # SQLite compares UTC text: every bound moment must be UTC
    at_risk, overdue = sla_counts(session, now)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The decision queries' correlated subqueries inflate the planner's cost estimates past
        # jit_above_cost, and compiling them took ~150 ms each on a million cases, for queries that
        # run in tens of milliseconds. LOCAL: only for this transaction.
        session.execute(text("SET LOCAL jit = off"))
    decisions = decision_figures(session, now, postgres=postgres)
    return Dashboard(
        generated_at=now,
        cases_by_status=cases_by_status(session),
        open_tasks=open_tasks_by_role(session),
        sla_at_risk=at_risk,
        sla_overdue=overdue,
        today=decisions.today,
        last_7_days=decisions.last_7_days,
        per_day=decisions.per_day,
    )


def sla_counts(session: Session, now: datetime) -> tuple[int, int]:
    """(at risk, overdue) open tasks, by the inbox's own SLA rule (engine.sla_state), in one scan."""
    at_risk = func.count().filter(sla_condition(AT_RISK, now))
    overdue = func.count().filter(sla_condition(OVERDUE, now))
    row = session.execute(select(at_risk, overdue).where(HumanTask.status == "open")).one()
    return int(row[0]), int(row[1])


def cases_by_status(session: Session) -> list[Count]:
    """Every status the API knows (tasks.cases.labels), in its order, with zero where no case has it.

    A case is the one instance its application started (the service catalogue names the processes),
    so the instances of those processes are counted directly: joining a million
    applications to their instances took ~330 ms, this scan ~100 ms.
    """
    status = func.coalesce(ProcessInstance.status, "submitted")  # a case whose instance has not set one yet
    case_processes = catalogue.case_processes()
    rows = session.execute(select(status, func.count()).where(ProcessInstance.process_id.in_(case_processes))
                           .group_by(status)).all()
    counts = dict(rows)
    known = [Count(code, label, counts.pop(code, 0)) for code, label in STATUS_LABELS.items()]
    return known + [Count(code, status_label(code), n) for code, n in sorted(counts.items())]


def open_tasks_by_role(session: Session) -> list[Count]:
    """Open human tasks per queue (role), busiest first; tasks of an unmapped lane count as «без очереди»."""
    rows = session.execute(select(HumanTask.role, func.count()).where(HumanTask.status == "open")
                           .group_by(HumanTask.role)).all()
    counts = [Count(role or "", ROLE_LABELS.get(role or "", role or "без очереди"), n) for role, n in rows]
    return sorted(counts, key=lambda c: (-c.count, c.label))


def _first_decisions(since: datetime, until: datetime) -> Select:
    """(at, outcome status, submitted_at) of each case's first decision made in [since, until].

    Shaped for a journal of millions of rows: the window's rows come from the index on journal.at,
    and each one looks up its case and the case's first decision by instance id (correlated
    subqueries, one index probe each). Written as joins, the planner hashed every decision of the
    whole journal and seq-scanned the applications (~0.5 s on a million cases).
    """
    earlier = aliased(JournalEntry)
    first_id = (select(func.min(earlier.id))
                .where(earlier.instance_id == JournalEntry.instance_id, earlier.event == "status_changed",
                       earlier.message.in_(DECISION_STATUSES))
                .scalar_subquery())
    submitted = (select(Application.submitted_at).where(Application.instance_id == JournalEntry.instance_id)
                 .limit(1).scalar_subquery())
    rows = (select(JournalEntry.at.label("at"), JournalEntry.message.label("outcome"),
                   submitted.label("submitted_at"))
            .where(JournalEntry.at >= since, JournalEntry.at <= until, JournalEntry.event == "status_changed",
                   JournalEntry.message.in_(DECISION_STATUSES), JournalEntry.id == first_id)
            .subquery())
    return select(rows).where(rows.c.submitted_at.is_not(None))  # instances that are not cases


def _seconds_between(later: ColumnElement, earlier: ColumnElement, postgres: bool) -> ColumnElement:
    if postgres:
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0  # SQLite keeps UTC text


@dataclass(frozen=True)
class DecisionFigures:
    today: DecisionTimes
    last_7_days: DecisionTimes
    per_day: list[DayDecisions]


def decision_figures(session: Session, now: datetime, *, postgres: bool, days: int = CHART_DAYS) -> DecisionFigures:
    """Today's and the last 7 days' decisions with their median times, and decisions per Moscow day.

    All three windows lie within the chart's `days` days, so the decisions are read once: on
    PostgreSQL as one statement whose CTE (materialized, being referenced twice) feeds the per-day
    counts and both medians (`percentile_cont ... FILTER`); on SQLite the rows of the window are
    read and counted in Python.
    """
    today = now.astimezone(MOSCOW).date()
    first = today - timedelta(days=days - 1)
    today_since, week_since = moscow_midnight(today), now - WEEK
    if postgres:
        by_day, windows = _decisions_postgres(session, moscow_midnight(first), now, today_since, week_since)
    else:
        by_day, windows = _decisions_python(session, moscow_midnight(first), now, today_since, week_since)
    per_day = []
    for offset in range(days):
        current = first + timedelta(days=offset)
        issued, total = by_day.get(current, (0, 0))
        per_day.append(DayDecisions(current, issued, total - issued))
    (today_n, today_median), (week_n, week_median) = windows
    return DecisionFigures(DecisionTimes(today_since, today_n, today_median),
                           DecisionTimes(week_since, week_n, week_median), per_day)


Windows = tuple[tuple[int, float | None], tuple[int, float | None]]


def _decisions_postgres(session: Session, since: datetime, now: datetime, today_since: datetime,
                        week_since: datetime) -> tuple[dict[date, tuple[int, int]], Windows]:
    d = _first_decisions(since, now).cte("decisions")
    seconds = _seconds_between(d.c.at, d.c.submitted_at, True)
    day = func.to_char(func.timezone("Europe/Moscow", d.c.at), "YYYY-MM-DD")
    no_number = cast(null(), Float)

    def window(start: datetime) -> tuple[ColumnElement, ColumnElement]:
        return (cast(func.count().filter(d.c.at >= start), Float),
                func.percentile_cont(0.5).within_group(seconds).filter(d.c.at >= start))

    days = select(day, cast(func.count().filter(d.c.outcome == ISSUED), Float), cast(func.count(), Float),
                  no_number, no_number).group_by(day)
    windows = select(cast(null(), String), *window(today_since), *window(week_since))
    by_day: dict[date, tuple[int, int]] = {}
    summary = ((0, None), (0, None))
    for key, a, b, c, e in session.execute(union_all(days, windows)):
        if key is None:
            summary = ((int(a), _float(b)), (int(c), _float(e)))
        else:
            by_day[date.fromisoformat(key)] = (int(a), int(b))
    return by_day, summary


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _decisions_python(session: Session, since: datetime, now: datetime, today_since: datetime,
                      week_since: datetime) -> tuple[dict[date, tuple[int, int]], Windows]:
    d = _first_decisions(since, now).subquery()
    rows = session.execute(select(d.c.at, d.c.outcome, _seconds_between(d.c.at, d.c.submitted_at, False))).all()
    by_day: dict[date, tuple[int, int]] = {}
    today_seconds, week_seconds = [], []
    for at, outcome, seconds in rows:
        at = aware(at)
        day = at.astimezone(MOSCOW).date()
        issued, total = by_day.get(day, (0, 0))
        by_day[day] = (issued + (outcome == ISSUED), total + 1)
        if at >= week_since:
            week_seconds.append(float(seconds))
        if at >= today_since:
            today_seconds.append(float(seconds))

    def window(values: list[float]) -> tuple[int, float | None]:
        return len(values), statistics.median(values) if values else None

    return by_day, (window(today_seconds), window(week_seconds))
