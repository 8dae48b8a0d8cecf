"""Case numbers: 2026-000123, one sequence per calendar year, unique under concurrency.

A counter row per year is incremented under its row lock (PostgreSQL) or the database write lock
(SQLite, where every transaction begins IMMEDIATE), so two submissions never get the same number.
A submission takes its number in the transaction that stores the case and starts its process (one
commit per application); concurrent submissions wait for the counter row meanwhile, a few
milliseconds each. A start that fails rolls its number back with it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models.cases import CaseCounter


def next_case_number(session: Session, year: int) -> str:
    return format_case_number(year, next_counter_value(session, CaseCounter, year))


def next_counter_value(session: Session, counter: Any, year: int) -> int:
    """The next value of a per-year counter table (`year`, `value` columns): case and support request numbers."""
    for _ in range(3):
        value = session.scalar(_increment(counter), {"counter_year": year})
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(counter(year=year, value=1))
            return 1
        except IntegrityError:  # another transaction created the year's row first: increment it
            continue
    raise RuntimeError(f"could not allocate a number from {counter.__tablename__} for {year}")


@cache
def _increment(counter: Any) -> Update:
    """The counter's UPDATE ... RETURNING, built once per table (every submission runs it). Nothing reads a
    counter row's object from the session, so the ORM need not look for one to synchronise."""
    return (update(counter).where(counter.year == bindparam("counter_year")).values(value=counter.value + 1)
            .returning(counter.value).execution_options(synchronize_session=False))


def format_case_number(year: int, value: int) -> str:
    return f"{year}-{value:06d}"


def last_case_number(session: Session, year: int) -> int:
    return session.scalar(select(CaseCounter.value).where(CaseCounter.year == year)) or 0


# The appeal prefix as people type it: the Latin «A» of A-2026-000123, or the Cyrillic «А» that looks
# the same, in either case.
_APPEAL = re.compile(r"^[AaАа]-(\d{4}-\d{1,6})(?:/(\d+))?$")
_NUMBER = re.compile(r"^[\d/-]+$")


def normalize_number(text: str) -> str:
    """A typed case or appeal number in its canonical form: spaces and «№» dropped, the appeal's
    prefix as the Latin «A» (Cyrillic «А» and lowercase accepted). Anything else (a name) is returned trimmed."""
    trimmed = str(text).strip()
    compact = "".join(trimmed.split()).lstrip("№")
    match = _APPEAL.match(compact)
    if match is None:
        return compact if _NUMBER.match(compact) else trimmed
    return f"A-{match[1]}" + (f"/{match[2]}" if match[2] else "")


def case_number_of(text: str) -> str:
    """The case a typed number is about: a case number as it is, an appeal number's case
    (А-2026-000123/2 -> 2026-000123). The one normaliser for every place a number is typed or looked up."""
    compact = normalize_number(text)
    match = _APPEAL.match(compact)
    return match[1] if match else compact
