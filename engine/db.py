"""Database access shared by every process (web, workers, scheduler).

The runtime works on PostgreSQL (row locks, SKIP LOCKED) and on SQLite (embedded default).
On SQLite every transaction starts with BEGIN IMMEDIATE so that writers are serialized at the
start of the transaction instead of failing with "database is locked" at commit time; that is
what makes the per-instance lock hold there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.private_files import private_file


class Base(DeclarativeBase):
    """Declarative base for every table of the product (engine and domain)."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def engine_options(url: str, *, pre_ping: bool = True) -> dict:
    """Engine keyword arguments for a URL; also used by Flask-SQLAlchemy in the web app.

    `pre_ping` costs a round trip and a transaction on every checkout. The web app keeps it (a user
    should not see an error because PostgreSQL restarted); workers and the scheduler go without it:
    a stale connection fails one job or pass, which is retried anyway, and the pool is then renewed.
    """
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60, "check_same_thread": False}}
    return {"pool_pre_ping": pre_ping, "pool_size": 10, "max_overflow": 20, "pool_recycle": 3600}


def configure_engine(engine: Engine) -> Engine:
    """Install the SQLite pragmas and BEGIN IMMEDIATE hooks; a no-op for other databases.

    The SQLite file is created 0600 here, before SQLite opens it (its WAL and SHM files copy its mode).
    """
    if not is_sqlite(engine) or getattr(engine, "_backoffice_configured", False):
        return engine
    if engine.url.database and engine.url.database != ":memory:" and not engine.url.database.startswith("file:"):
        private_file(Path(engine.url.database))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via SQLite runs
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine._backoffice_configured = True  # type: ignore[attr-defined]
    return engine


def make_engine(url: str, *, pre_ping: bool = False) -> Engine:
    return configure_engine(create_engine(url, **engine_options(url, pre_ping=pre_ping)))


class Database:
    """An engine plus a session factory; one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = configure_engine(engine)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection for a single read that needs no transaction: on PostgreSQL it runs in autocommit
        (one round trip instead of BEGIN, SELECT, COMMIT); SQLite keeps its usual transaction."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            if conn.in_transaction():
                conn.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
