"""PostgreSQL's step analytics from daily roll-ups: a finished Moscow day is scanned once into `step_day`,
`step_day_hist` and `flow_day` by a scheduled job (`roll_up_all`, run by `backoffice scheduler`); a period
adds up its days' rows in SQL and reads only the few days the job has not reached yet (today) from the steps.
A year of a million cases takes minutes to roll up the first time: that is the job's, never a page's.

Percentiles come from histograms with logarithmic buckets: bucket 0 holds times under a second, bucket b
the times in [RATIO**(b-1), RATIO**b) seconds, read back as the bucket's geometric middle, so they are
within 5 % of the exact ones; counts are exact. A flow's cases are counted per day and added up: a case
that takes the same flow on two different days counts twice.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from engine.clock import aware, utcnow
from engine.db import Database
from engine.models import ProcessVersion
from forms.dates import MOSCOW, moscow_midnight, today_moscow

from .models import AnalyticsDay
from .queries import Analytics, ElementStats, FlowCount, Freshness, WeekBreach

log = logging.getLogger(__name__)
RATIO = 1.1  # each histogram bucket is 10 % wider than the one before
CHUNK_DAYS = 31  # days rolled up per transaction by the job
TAIL_DAYS = 2  # at most this many days not rolled up yet (today, and yesterday until the job has run) are read
# from the steps by a page: a week of a million cases' steps would take seconds
# Statement templates: `_sql` fills the {placeholders} with the fixed fragments below (never with input,
# which always travels as bound parameters).
_FRAGMENTS = {
    "steps": """
  SELECT (ended_at AT TIME ZONE 'UTC' + interval '3 hours')::date AS day, element, source, instance_id, due_at,
         ended_at, extract(epoch FROM coalesce(started_at, ended_at) - entered_at) AS wait,
         extract(epoch FROM ended_at - coalesce(started_at, ended_at)) AS handling
  FROM step WHERE process_id = :process AND ended_at >= :since AND ended_at < :until""",
    "wait_bucket": "CASE WHEN wait < 1 THEN 0 ELSE 1 + floor(ln(wait) / ln(:ratio))::int END",
    "handling_bucket": "CASE WHEN handling < 1 THEN 0 ELSE 1 + floor(ln(handling) / ln(:ratio))::int END",
}
# The same three shapes from the steps (today, or the days being rolled up) and from the roll-up tables.
DAY_COUNTS = """
SELECT day, element, count(*) AS passes, count(due_at) AS with_due, count(*) FILTER (WHERE ended_at > due_at) AS late
FROM ({steps}) s GROUP BY day, element"""
DAY_HIST = """
SELECT day, element, m.measure, m.bucket, count(*) AS passes
FROM ({steps}) s CROSS JOIN LATERAL (VALUES ('w', {wait_bucket}), ('h', {handling_bucket})) AS m(measure, bucket)
GROUP BY day, element, m.measure, m.bucket"""
DAY_FLOWS = """
SELECT day, source, element AS target, count(DISTINCT instance_id) AS cases
FROM ({steps}) s WHERE source IS NOT NULL GROUP BY day, source, element"""
SHAPES = {"step_day": ("day, element, passes, with_due, late", DAY_COUNTS),
          "step_day_hist": ("day, element, measure, bucket, passes", DAY_HIST),
          "flow_day": ("day, source, target, cases", DAY_FLOWS)}
ROLL_UP = ("INSERT INTO {table} (process_id, {columns}) SELECT :process, {columns} FROM ({query}) q "
           "ON CONFLICT DO NOTHING")
FROM_ROLLED = "SELECT * FROM {table} WHERE process_id = :process AND day BETWEEN :first AND :last"
FROM_STEPS = "SELECT CAST(:process AS varchar) AS process_id, q.* FROM ({query}) q"
TOTALS = {
    "step_day": "SELECT element, sum(passes) AS passes, sum(with_due) AS with_due, sum(late) AS late "
                "FROM ({rows}) c GROUP BY element",
    "step_day_hist": "SELECT element, measure, bucket, sum(passes) AS passes FROM ({rows}) h "
                     "GROUP BY element, measure, bucket",
    "flow_day": "SELECT source, target, sum(cases) AS cases FROM ({rows}) f GROUP BY source, target",
    "weeks": "SELECT day - (extract(isodow FROM day)::int - 1) AS week, element, sum(with_due) AS with_due, "
             "sum(late) AS late FROM ({rows}) c WHERE with_due > 0 GROUP BY 1, 2 ORDER BY 1, 2",
}


def _sql(template: str, **parts: str) -> str:
    for name, part in {**_FRAGMENTS, **parts}.items():
        template = template.replace("{" + name + "}", part)
    return template


def _params(process_id: str, first: date, last: date) -> dict[str, Any]:
    return {"process": process_id, "since": moscow_midnight(first), "until": moscow_midnight(last + timedelta(days=1)),
            "ratio": RATIO, "first": first, "last": last}


def roll_up(s: Session, process_id: str, days: list[date]) -> int:
    """Roll up the days not rolled up yet, each statement one scan from the first to the last of them
    (days in between that were rolled up before keep their rows; so do those of a concurrent run)."""
    if not days:
        return 0
    done = set(s.scalars(select(AnalyticsDay.day).where(AnalyticsDay.process_id == process_id,
                                                        AnalyticsDay.day.between(min(days), max(days)))))
    missing = [d for d in days if d not in done]
    if not missing:
        return 0
    params = _params(process_id, min(missing), max(missing))
    for table, (columns, query) in SHAPES.items():
        s.execute(text(_sql(ROLL_UP, table=table, columns=columns, query=_sql(query))), params)
    now = utcnow()
    s.execute(insert(AnalyticsDay).on_conflict_do_nothing(),
              [{"process_id": process_id, "day": day, "rolled_at": now} for day in missing])
    return len(missing)


def first_step_day(s: Session, process_id: str) -> date | None:
    """The Moscow day of the process's oldest step (one probe of the (process_id, ended_at) index)."""
    first = s.scalar(text("SELECT min(ended_at) FROM step WHERE process_id = :process"), {"process": process_id})
    return aware(first).astimezone(MOSCOW).date() if first is not None else None


def catch_up(database: Database, process_id: str, today: date | None = None) -> int:
    """Roll up every finished day of the process not rolled up yet, oldest first, CHUNK_DAYS per
    transaction: an interrupted run keeps what it did and the next run goes on from there."""
    today = today or today_moscow()
    with database.session() as s:
        first = first_step_day(s, process_id)
    if first is None:
        return 0
    rolled = 0
    start = first
    while start < today:
        end = min(start + timedelta(days=CHUNK_DAYS - 1), today - timedelta(days=1))
        with database.session() as s:
            rolled += roll_up(s, process_id, [start + timedelta(days=i) for i in range((end - start).days + 1)])
        start = end + timedelta(days=1)
    return rolled


def roll_up_all(database: Database) -> dict[str, int]:
    """The scheduled job: bring every deployed process's roll-ups up to yesterday; days rolled per process."""
    started = time.monotonic()
    with database.session() as s:
        processes = list(s.scalars(select(ProcessVersion.process_id).distinct()))
    rolled = {pid: catch_up(database, pid) for pid in sorted(processes)}
    if any(rolled.values()):
        log.info("analytics roll-up: %d day(s) in %.1f s", sum(rolled.values()), time.monotonic() - started,
                 extra={"days": rolled})
    return rolled


def freshness(s: Session, process_id: str, first: date, last: date, today: date) -> tuple[Freshness, date]:
    """How fresh a period's figures are, and the first day read from the steps themselves.

    Rolled-up days are read from the roll-ups; the days after the last rolled-up one (normally only today,
    yesterday until the job has run) from the steps, but at most TAIL_DAYS of them, so a page never scans
    more than a few days of steps. Older days the job has not reached yet are left out and counted.
    """
    row = s.execute(select(func.max(AnalyticsDay.day), func.max(AnalyticsDay.rolled_at))
                    .where(AnalyticsDay.process_id == process_id)).one()
    through, rolled_at = row
    # Today is never final: roll-ups of today or later (made while the clock was ahead, then set back) are
    # not trusted, and those days are read from the steps.
    raw_first = max(first, today - timedelta(days=TAIL_DAYS - 1),
                    min(through + timedelta(days=1), today) if through else first)
    missing = 0
    counted_from = max(first, first_step_day(s, process_id) or raw_first)
    if counted_from < raw_first:
        span = min(raw_first - timedelta(days=1), last)
        rolled = s.scalar(select(func.count()).select_from(AnalyticsDay).where(
            AnalyticsDay.process_id == process_id, AnalyticsDay.day.between(counted_from, span))) or 0
        missing = max(0, (span - counted_from).days + 1 - rolled)
    return Freshness(through, aware(rolled_at), raw_first if raw_first <= last else None, missing), raw_first


def _sums(s: Session, params: dict[str, Any], rolled: bool, raw: bool) -> dict[str, list]:
    """Totals per element, histogram rows, flows and counts per week and element, of the rolled-up days
    and of the raw range, each added up by PostgreSQL."""
    def rows(table: str) -> str:
        parts = ([_sql(FROM_ROLLED, table=table)] if rolled else []) + \
            ([_sql(FROM_STEPS, query=_sql(SHAPES[table][1]))] if raw else [])
        return " UNION ALL ".join(parts)

    return {name: list(s.execute(text(_sql(query, rows=rows("step_day" if name == "weeks" else name))), params))
            for name, query in TOTALS.items()}


def bucket_value(b: int) -> float:
    return 0.0 if b <= 0 else round(RATIO ** (b - 0.5), 3)


def hist_percentile(hist: Counter, q: float) -> float | None:
    """percentile_cont over the histogram: the values at the two ranks around q*(n-1) (each its bucket's
    middle), interpolated."""
    n = sum(hist.values())
    if not n:
        return None
    pos = q * (n - 1)
    low, high = math.floor(pos), math.ceil(pos)
    values: dict[int, float] = {}
    seen = 0
    for b in sorted(hist):
        for rank in (low, high):
            if seen <= rank < seen + hist[b]:
                values[rank] = bucket_value(b)
        seen += hist[b]
    return round(values[low] + (values[high] - values[low]) * (pos - low), 3)


def analytics(s: Session, process_id: str, first: date, last: date) -> Analytics:
    """The period's figures from what is rolled up plus the short tail of days that is not (see `freshness`);
    the roll-ups themselves are the scheduled job's (`roll_up_all`), never a page's."""
    today = today_moscow()
    fresh, raw_first = freshness(s, process_id, first, last, today)
    params = {**_params(process_id, raw_first, max(last, raw_first)), "first": first,
              "last": min(last, raw_first - timedelta(days=1))}
    totals = _sums(s, params, rolled=first < raw_first, raw=raw_first <= last)
    hists: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in totals["step_day_hist"]:
        hists[(r.element, r.measure)][r.bucket] += int(r.passes)
    elements = [ElementStats(r.element, int(r.passes), hist_percentile(hists[(r.element, "w")], .5),
                             hist_percentile(hists[(r.element, "w")], .9), hist_percentile(hists[(r.element, "h")], .5),
                             hist_percentile(hists[(r.element, "h")], .9), int(r.with_due), int(r.late))
                for r in sorted(totals["step_day"], key=lambda r: r.element)]
    return Analytics(elements, [FlowCount(r.source, r.target, int(r.cases)) for r in totals["flow_day"]],
                     [WeekBreach(r.week, r.element, int(r.with_due), int(r.late)) for r in totals["weeks"]], fresh)
