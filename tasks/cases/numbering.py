"""Case numbers: 2026-000123, one sequence per calendar year, unique under concurrency.

A counter row per year is incremented under its row lock (PostgreSQL) or the database write lock
(SQLite, where every transaction begins IMMEDIATE), so two submissions never get the same number.
The number is taken in its own short transaction, so that concurrent submissions do not queue on
the counter row for the whole start of their process; a start that fails leaves a gap.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import CaseCounter


def next_case_number(session: Session, year: int) -> str:
    for _ in range(3):
        value = session.scalar(update(CaseCounter).where(CaseCounter.year == year)
                               .values(value=CaseCounter.value + 1).returning(CaseCounter.value))
        if value is not None:
            return format_case_number(year, value)
        try:
            with session.begin_nested():
                session.add(CaseCounter(year=year, value=1))
            return format_case_number(year, 1)
        except IntegrityError:  # another transaction created the year's row first: increment it
            continue
    raise RuntimeError(f"could not allocate a case number for {year}")


def format_case_number(year: int, value: int) -> str:
    return f"{year}-{value:06d}"


def last_case_number(session: Session, year: int) -> int:
    return session.scalar(select(CaseCounter.value).where(CaseCounter.year == year)) or 0
