"""Business-day arithmetic on a government production calendar.

Deadlines in a back office are stated in *business* days, and in Russia the set of business days is
decided every year by a government decree: public holidays that fall on a weekend are moved, some
Saturdays become working days (1 November 2025) and some weekdays become days off (3 November 2025,
31 December 2025). A plain "skip Saturdays and Sundays" rule is therefore wrong several times a year.

The data comes from the ``holidays`` package, which models those decrees (for the country the
application names, with the time zone its deadlines keep):

* transferred days off are ordinary entries of the holiday mapping ("Day off (substituted from ...)");
* Saturdays/Sundays that became working days are in ``HolidayBase.weekend_workdays``.

(``workalendar`` is deliberately not used: it is unmaintained and lags behind the decrees.)

The module is domain-neutral: it knows calendars and time zones, nothing about what the deadlines are for,
nor which country's calendar applies (the application says so in the engine's settings).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from .clock import utcnow

__all__ = [
    "BusinessCalendar",
    "business_days_deadline",
    "ensure_aware",
]

_ONE_DAY = timedelta(days=1)


class BusinessCalendar:
    """Answers "is this a business day?" and adds business days, using a ``holidays`` country calendar.

    The set of business days is computed once per calendar year and cached, because deadline arithmetic
    is called on every timer evaluation and building a ``holidays`` object is comparatively slow.
    """

    def __init__(self, country: str, subdiv: str | None = None, *, tz: str) -> None:
        """Create a calendar for ``country`` (a ``holidays`` country code) and optional subdivision whose
        deadlines keep the local time of day in ``tz`` (an IANA time zone)."""
        self.country = country
        self.subdiv = subdiv
        self.tz = tz
        ZoneInfo(tz)  # an unknown zone fails here, at start-up, not at the first deadline
        self._years: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BusinessCalendar(country={self.country!r}, subdiv={self.subdiv!r}, tz={self.tz!r})"

    def _business_days_of(self, year: int) -> frozenset[date]:
        """Return (and cache) the business days of ``year``.

        The neighbouring years are loaded too: a decree may move a day off across the New Year
        (the Sunday 5 January 2025 became the day off 31 December 2025), and ``holidays`` records a
        working weekend day only while populating the year whose decree mentions it.
        """
        cached = self._years.get(year)
        if cached is not None:
            return cached
        calendar = holidays.country_holidays(
            self.country, subdiv=self.subdiv, years=(year - 1, year, year + 1), expand=False
        )
        weekend_workdays = set(getattr(calendar, "weekend_workdays", ()))
        days: set[date] = set()
        day = date(year, 1, 1)
        while day.year == year:
            # A date listed as a holiday is never a business day, even if it is also recorded as a
            # transferred working weekend day (defensive: HolidayBase.is_working_day would say "yes").
            if day not in calendar and (not calendar.is_weekend(day) or day in weekend_workdays):
                days.add(day)
            day += _ONE_DAY
        result = frozenset(days)
        with self._lock:
            return self._years.setdefault(year, result)

    def is_business_day(self, d: date) -> bool:
        """Return True if ``d`` is a working day (weekday that is not a day off, or a working weekend)."""
        if isinstance(d, datetime):
            d = d.date()
        return d in self._business_days_of(d.year)

    def next_business_day(self, d: date) -> date:
        """Return ``d`` itself if it is a business day, otherwise the first business day after it."""
        if isinstance(d, datetime):
            d = d.date()
        while not self.is_business_day(d):
            d += _ONE_DAY
        return d

    def add_business_days(self, start: date, n: int) -> date:
        """Return the date that is ``n`` business days after ``start`` (``start`` itself is not counted).

        ``n == 0`` means "today if today is a business day, otherwise the next business day", so a
        zero-length deadline never lands on a day off. Negative ``n`` is rejected: deadlines only move
        forward, and silently subtracting would hide a sign bug in a caller.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"number of business days must be an int, got {n!r}")
        if n < 0:
            raise ValueError(f"number of business days must be >= 0, got {n}")
        if isinstance(start, datetime):
            start = start.date()
        if n == 0:
            return self.next_business_day(start)
        day = start
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_business_day(day):
                remaining -= 1
        return day

    def business_days_between(self, a: date, b: date) -> int:
        """Count business days ``d`` with ``a < d <= b`` (negative when ``b`` is before ``a``).

        The half-open interval makes this the inverse of :meth:`add_business_days` for business-day
        results: ``business_days_between(a, add_business_days(a, n)) == n`` for ``n >= 1``. Useful for
        "N business days left" displays.
        """
        if isinstance(a, datetime):
            a = a.date()
        if isinstance(b, datetime):
            b = b.date()
        if b < a:
            return -self.business_days_between(b, a)
        count = 0
        day = a + _ONE_DAY
        while day <= b:
            if self.is_business_day(day):
                count += 1
            day += _ONE_DAY
        return count


def ensure_aware(value: datetime, tz: str) -> datetime:
    """Return ``value`` as an aware datetime; a naive value is taken to be local time in ``tz``.

    Naive moments are read as business-local time rather than UTC because the naive values we expect
    come from people (a date typed in a form, ``"2025-11-07"`` passed to a script function), who mean
    their own wall clock.
    """
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=ZoneInfo(tz))
    return value


def business_days_deadline(
    n: int,
    start: datetime | None = None,
    tz: str | None = None,
    *,
    calendar: BusinessCalendar,
) -> datetime:
    """Return the moment ``n`` business days after ``start`` (default: now), as an aware UTC datetime.

    The calendar date is taken in the business time zone ``tz``, moved by ``n`` business days and the
    local time of day is kept: "1 business day" from Friday 15:00 Moscow time is due Monday 15:00 Moscow
    time, not Saturday and not "Monday 12:00 UTC-ish". The result is UTC so that it can be compared and
    stored without time-zone ambiguity. A naive ``start`` is read as local time in ``tz`` (default: the
    calendar's time zone).
    """
    tz = tz or calendar.tz
    zone = ZoneInfo(tz)
    cal = calendar
    start = utcnow() if start is None else ensure_aware(start, tz)
    local = start.astimezone(zone)
    due_date = cal.add_business_days(local.date(), n)
    due_local = datetime.combine(due_date, local.time(), tzinfo=zone)
    return due_local.astimezone(UTC)
