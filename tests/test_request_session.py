"""One database session per request or job, shared by the views and the engine.

Inside a web request the engine's transactions run in the request's Flask-SQLAlchemy session, so a view
that read or wrote before calling the engine is never waited for by the engine (on SQLite, one writer at
a time, a second connection would wait for the request's own lock). A job runs in the one session the
runner opens for it. Outside both, the engine keeps opening sessions of its own.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import insert, select

from engine.clock import utcnow
from engine.db import Database
from engine.models import JournalEntry
from web.extensions import db

EVENT = "session_test"


def _write(session, marker: str) -> None:
    session.execute(insert(JournalEntry).values(instance_id=None, at=utcnow(), actor="test", event=EVENT,
                                                message=marker))


def _stored(database: Database, marker: str) -> bool:
    """Read by a session of its own, outside any request: only what was committed."""
    with database.sessionmaker() as s:
        return s.scalar(select(JournalEntry.id).where(JournalEntry.event == EVENT,
                                                      JournalEntry.message == marker)) is not None


@pytest.fixture
def app(make_app):
    return make_app()


def test_inside_a_request_the_engine_works_in_the_request_session(app) -> None:
    database: Database = app.extensions["backoffice"].database
    marker = uuid.uuid4().hex
    with app.test_request_context("/"):
        _write(db.session, marker)  # the view's write: its transaction (SQLite: the write lock) stays open
        with database.session() as s:
            assert s is db.session()
            assert s.scalar(select(JournalEntry.id).where(JournalEntry.message == marker)) is not None
            with database.session() as inner:  # a transaction opened inside another one joins it
                assert inner is s
        with database.reader() as conn:
            assert conn.scalar(select(JournalEntry.id).where(JournalEntry.message == marker)) is not None
    assert _stored(database, marker)


def test_a_failing_engine_transaction_keeps_what_the_view_did_before(app) -> None:
    database: Database = app.extensions["backoffice"].database
    before, during = uuid.uuid4().hex, uuid.uuid4().hex
    with app.test_request_context("/"):
        _write(db.session, before)
        with pytest.raises(LookupError), database.session() as s:
            _write(s, during)
            raise LookupError("the engine refuses")
    assert _stored(database, before)  # committed as the view's own transaction was before it called the engine
    assert not _stored(database, during)


def test_outside_a_request_the_engine_opens_its_own_sessions(app) -> None:
    database: Database = app.extensions["backoffice"].database
    with app.app_context():
        with database.session() as s:
            assert s is not db.session()
        with database.session() as again:
            assert again is not s


def test_a_job_runs_in_one_session_of_its_own_thread(app) -> None:
    database: Database = app.extensions["backoffice"].database
    marker = uuid.uuid4().hex
    elsewhere: list[bool] = []
    with database.scope() as job:
        with database.session() as s:
            assert s is job
            _write(s, marker)
        with database.session() as again:
            assert again is job
        # An operator thread (it copies the job's context) must not use the job's session.
        from contextvars import copy_context

        def other() -> None:
            with database.session() as t:
                elsewhere.append(t is job)

        thread = threading.Thread(target=copy_context().run, args=(other,))
        thread.start()
        thread.join()
    assert elsewhere == [False]
    assert _stored(database, marker)
