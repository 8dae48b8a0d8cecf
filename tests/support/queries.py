"""Small read helpers the tests share."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event, select, text

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
    """Whether an INSERT into `table` waits for another transaction's lock (PostgreSQL)."""
    return statement_waits_on_lock(database, f"INSERT INTO {table}")


def statement_waits_on_lock(database: Database, start: str) -> bool:
    """Whether a statement beginning with `start` waits for another transaction's lock (PostgreSQL): how a
    race test knows its second writer got there. A connection per look: statistics views are one snapshot
    per transaction."""
    with database.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND query ILIKE :start"), {"start": f"{start}%"}).scalar())


@dataclass
class SqlLog:
    """What `sql_log` saw: the statements in order and the number of commits."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def queries(self) -> list[str]:
        """The statements but SQLite's BEGIN IMMEDIATE (engine/db.py sends it to take the write lock at the
        start of a transaction; PostgreSQL's driver begins one without a statement of its own)."""
        return [s for s in self.statements if s != "BEGIN IMMEDIATE"]

    def report(self) -> str:
        lines = [f"{len(self.statements)} statements, {self.commits} commits:"]
        return "\n".join(lines + [f"  {i + 1}. {' '.join(s.split())[:300]}" for i, s in enumerate(self.statements)])


@contextmanager
def sql_log(engine: Engine) -> Iterator[SqlLog]:
    """The statements and commits this thread sends through `engine` while the block runs."""
    log, thread = SqlLog(), threading.get_ident()

    def statement(_conn, _cursor, sql, _params, _context, _many) -> None:
        if threading.get_ident() == thread:
            log.statements.append(sql)

    def commit(_conn) -> None:
        if threading.get_ident() == thread:
            log.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


@contextmanager
def open_at_commit(engine: Engine) -> Iterator[list[TransactionStatus]]:
    """Whether PostgreSQL had a transaction open on the connection each time SQLAlchemy committed one of this
    thread's: IDLE when the transaction's statements ran on their own (autocommit), with no BEGIN and no COMMIT."""
    seen: list[TransactionStatus] = []
    thread = threading.get_ident()

    def commit(conn) -> None:
        if threading.get_ident() == thread:
            seen.append(conn.connection.driver_connection.info.transaction_status)

    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", commit)
