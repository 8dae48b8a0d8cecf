"""PostgreSQL's step analytics from daily roll-ups: a finished Moscow day is scanned once into `step_day`,
`step_day_hist` and `flow_day`; a period adds up its days' rows in SQL and reads only today from the steps.

Percentiles come from histograms with logarithmic buckets: bucket 0 holds times under a second, bucket b
the times in [RATIO**(b-1), RATIO**b) seconds, read back as the bucket's geometric middle, so they are
within 5 % of the exact ones; counts are exact. A flow's cases are counted per day and added up: a case
that takes the same flow on two different days counts twice.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from forms.dates import today_moscow

from ..dashboard.figures import moscow_midnight
from .models import AnalyticsDay
from .queries import Analytics, ElementStats, FlowCount, WeekBreach

RATIO = 1.1  # each histogram bucket is 10 % wider than the one before
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
    (days in between that were rolled up before keep their rows; so do those of a concurrent request)."""
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
    s.execute(insert(AnalyticsDay).on_conflict_do_nothing(),
              [{"process_id": process_id, "day": day} for day in missing])
    return len(missing)


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
    today = today_moscow()
    rolled_last = min(last, today - timedelta(days=1))
    days = [first + timedelta(days=i) for i in range((rolled_last - first).days + 1)]
    roll_up(s, process_id, days)
    raw_first = max(first, today)
    params = {**_params(process_id, raw_first, max(last, raw_first)), "first": first, "last": rolled_last}
    totals = _sums(s, params, rolled=bool(days), raw=last >= today)
    hists: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in totals["step_day_hist"]:
        hists[(r.element, r.measure)][r.bucket] += int(r.passes)
    elements = [ElementStats(r.element, int(r.passes), hist_percentile(hists[(r.element, "w")], .5),
                             hist_percentile(hists[(r.element, "w")], .9), hist_percentile(hists[(r.element, "h")], .5),
                             hist_percentile(hists[(r.element, "h")], .9), int(r.with_due), int(r.late))
                for r in sorted(totals["step_day"], key=lambda r: r.element)]
    return Analytics(elements, [FlowCount(r.source, r.target, int(r.cases)) for r in totals["flow_day"]],
                     [WeekBreach(r.week, r.element, int(r.with_due), int(r.late)) for r in totals["weeks"]])
