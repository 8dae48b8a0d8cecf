"""The period a certificate covers: the page's choice of kind mapped to the API's {from, to}.

Pages offer «Текущий год», «Один месяц» or explicit dates; the API and the process only ever see
`period.from` / `period.to`. The mapping lives here so that the page, the API (a client may send
`kind` too) and the tests agree on it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .dates import month_bounds, parse_iso_month


def resolve_period(period: dict[str, Any], today: date) -> dict[str, Any]:
    """Return the period with `from`/`to` filled in from `kind` (current_year | month | custom).

    `current_year` is the whole calendar year (01.01-31.12): the certificate states coverage for the
    year. `month` is the chosen month, given as `YYYY-MM`. `custom` keeps the dates as typed. A
    month that cannot be parsed is left alone for validation to report.
    """
    kind = period.get("kind")
    result = dict(period)
    if kind == "current_year":
        result["from"] = date(today.year, 1, 1).isoformat()
        result["to"] = date(today.year, 12, 31).isoformat()
    elif kind == "month" and isinstance(period.get("month"), str):
        first = parse_iso_month(period["month"])
        if first is not None:
            start, end = month_bounds(first)
            result["from"], result["to"] = start.isoformat(), end.isoformat()
    return result
