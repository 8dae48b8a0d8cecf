"""Small read helpers the tests share."""

from __future__ import annotations

from sqlalchemy import select, text

from engine import journal
from engine.context import Services
from engine.db import Database
from engine.models import HumanTask, ServiceCall


def events(services: Services, instance_id: int) -> list[str]:
    with services.database.session() as s:
        return [r.event for r in journal.read(s, instance_id)]


def open_tasks(services: Services, instance_id: int) -> list[HumanTask]:
    with services.database.session() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == "open").order_by(HumanTask.id)))


def open_task(services: Services, instance_id: int, spec_name: str) -> HumanTask | None:
    return next((t for t in open_tasks(services, instance_id) if t.spec_name == spec_name), None)


def calls(services: Services, instance_id: int) -> list[ServiceCall]:
    with services.database.session() as s:
        return list(s.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance_id)
                              .order_by(ServiceCall.id)))


def insert_waits_on_lock(database: Database, table: str) -> bool:
    """Whether an INSERT into `table` waits for another transaction's lock (PostgreSQL): how a race test
    knows its second writer got there. A connection per look: statistics views are one snapshot per
    transaction."""
    with database.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND query ILIKE :insert"), {"insert": f"INSERT INTO {table}%"}).scalar())
