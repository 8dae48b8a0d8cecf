"""Daily roll-ups of the `step` rows, so that a period's analytics on PostgreSQL read a few rows per day
instead of every step of every case (a year of a million cases is over twenty million steps).

A Moscow day is rolled up once it is over (`AnalyticsDay` marks it): per element its passes, due and
late counts and histograms of waiting and handling time; per sequence flow the cases that took it that
day. Histograms (a row per bucket, so PostgreSQL adds days up) have logarithmic buckets (each 10 %
wider than the one before), so a percentile read from them is within 5 % of the exact one; the counts
are exact.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class AnalyticsDay(Base):
    """A process's day whose steps are rolled up."""

    __tablename__ = "analytics_day"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when the roll-up summed it


class StepDay(Base):
    __tablename__ = "step_day"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    element: Mapped[str] = mapped_column(String(200), primary_key=True)
    passes: Mapped[int] = mapped_column(Integer)
    with_due: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)


class StepDayHistogram(Base):
    """How many of a day's passes of an element fell into each time bucket (measure "w": waiting, "h": handling)."""

    __tablename__ = "step_day_hist"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    element: Mapped[str] = mapped_column(String(200), primary_key=True)
    measure: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    passes: Mapped[int] = mapped_column(Integer)


class FlowDay(Base):
    __tablename__ = "flow_day"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
