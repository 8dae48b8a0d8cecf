"""Database access shared by every process (web, workers, scheduler).

The runtime works on PostgreSQL (row locks, SKIP LOCKED) and on SQLite (embedded default).
On SQLite every transaction starts with BEGIN IMMEDIATE so that writers are serialized at the
start of the transaction instead of failing with "database is locked" at commit time; that is
what makes the per-instance lock hold there.

One session per request or job: inside a web request the engine works in the request's own session
(the application passes a function that returns it), and a job runs in the session `scope()` opens
for it. A caller that already read or wrote in that session therefore never waits for itself, which
on SQLite (one writer at a time) it would if the engine opened a second connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, SessionTransaction, sessionmaker

from engine import pending_rows
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


# Set on a shared session while an engine transaction runs in it: a nested one joins it.
_IN_TRANSACTION = "backoffice_engine_transaction"
# Work to run once the session's transaction has committed (Database.after_commit).
_AFTER_COMMIT = "backoffice_after_commit"
# Set when the session's transaction has written something (a flush or a DML statement).
_WROTE = "backoffice_wrote"


class Database:
    """An engine plus a session factory; one per process.

    `shared` returns the session of the current unit of work when the application has one (the web
    request's), else None; `session()` and `reader()` then work in it.
    """

    def __init__(self, engine: Engine, shared: Callable[[], Session | None] | None = None) -> None:
        self.engine = configure_engine(engine)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._shared = shared
        # The job's session and the thread it belongs to (operator threads copy the context, but a
        # session must never be used by two threads).
        self._scope: ContextVar[tuple[Session, int] | None] = ContextVar(f"backoffice_db_{id(self)}",
                                                                          default=None)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    def shared_session(self) -> Session | None:
        """The session of the current request or job, if there is one."""
        scoped = self._scope.get()
        if scoped is not None and scoped[1] == threading.get_ident():
            return scoped[0]
        return self._shared() if self._shared is not None else None

    @contextmanager
    def scope(self) -> Iterator[Session]:
        """One session for a job: every `session()` and `reader()` of this thread inside shares it."""
        session = self.sessionmaker()
        token = self._scope.set((session, threading.get_ident()))
        try:
            yield session
        finally:
            self._scope.reset(token)
            session.close()

    @contextmanager
    def reader(self, *, own: bool = False) -> Iterator[Connection]:
        """A connection for a single read that needs no transaction: on PostgreSQL it runs in autocommit
        (one round trip instead of BEGIN, SELECT, COMMIT); SQLite keeps its usual transaction. In a
        request or job it is the read of a transaction of its session, unless `own`: a read that comes
        before anything the request or job writes (a job's first look at its calls) needs none of it."""
        if not own and self.shared_session() is not None:
            with self.session() as s:
                yield s.connection()
            return
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            if conn.in_transaction():
                conn.commit()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """An ORM session for reads that need no transaction, on a connection of its own (`reader(own=True)`):
        on PostgreSQL its statements run in autocommit, with no BEGIN and no COMMIT around them. For a job's
        reads of committed rows before it writes anything (an operator's look at its case); its objects stay
        readable after the block, detached. Nothing written in it is kept. Not inside a transaction this thread
        holds open: on SQLite its connection would wait for that transaction's write lock."""
        with self.reader(own=True) as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception.

        In a request or job it is a transaction of that session: what the caller wrote in it before is
        committed first (as it would have been in a transaction of its own), and the caller's objects are
        read afresh afterwards. A transaction opened inside another one joins it.
        """
        shared = self.shared_session()
        if shared is not None:
            if shared.info.get(_IN_TRANSACTION):
                yield shared
                return
            with _transaction_of(shared) as s:
                yield s
            return
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        _run_after_commit(session)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction that every `session()` opened inside joins, in a request or job or outside both:
        a caller's rows and the engine's commit together, in one commit."""
        if self.shared_session() is not None:
            with self.session() as s:
                yield s
            return
        with self.scope(), self.session() as s:
            yield s

    @staticmethod
    def after_commit(session: Session, work: Callable[[], None]) -> None:
        """Run `work` once the transaction `session` is in has committed (never when it rolls back): when
        it joined an outer transaction, after the outer one's commit, so nothing outside the database
        (an RQ job) acts on rows that are not committed yet."""
        session.info.setdefault(_AFTER_COMMIT, []).append(work)


def _run_after_commit(session: Session) -> None:
    for work in session.info.pop(_AFTER_COMMIT, ()):
        work()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_commit(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_AFTER_COMMIT, None)


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, flush_context: object) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:  # DML, or text whose effect is unknown: the transaction may have written
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _has_written(session: Session) -> bool:
    """Whether the session's transaction holds changes: flushed, pending in the ORM or in engine.pending_rows."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted
                or pending_rows.has_pending(session))


@contextmanager
def _transaction_of(session: Session) -> Iterator[Session]:
    """The engine's transaction in a shared session. Its objects stay loaded after the commit, as those
    of the engine's own sessions do (results are read after the commit); the caller's are expired.

    A caller that only read goes on in the same database transaction: committing a read costs a round
    trip and a commit and changes nothing."""
    if _has_written(session):
        session.commit()
    session.expire_all()
    session.info[_IN_TRANSACTION] = True
    expire_on_commit = session.expire_on_commit
    try:
        yield session
        session.expire_on_commit = False
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = expire_on_commit
        session.info[_IN_TRANSACTION] = False
    _run_after_commit(session)
