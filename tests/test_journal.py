"""The audit journal inside transactions and savepoints (engine/journal.py), on both backends.

Rows are kept on the session until commit; a savepoint that rolls back must take exactly its own
rows with it - never the rows recorded before it in the same transaction - and a released one hands
its rows to the transaction around it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from engine import journal
from engine.models import JournalEntry, ProcessInstance
from tasks.cases.models.cases import CaseCounter
from tests.support.backend import Backend


@pytest.fixture
def instance(backend: Backend) -> Iterator[int]:
    """A process instance the rows can belong to (the journal's foreign key)."""
    assert backend.services is not None
    db = backend.services.database
    with db.session() as s:
        iid = s.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1))
    if iid is None:
        iid = backend.services.runtime.start("versioned").id
    yield iid


def _stored(backend: Backend, instance: int, marker: str) -> list[str]:
    with backend.services.database.session() as s:
        return list(s.scalars(select(JournalEntry.event).where(JournalEntry.instance_id == instance,
                                                               JournalEntry.message == marker)
                              .order_by(JournalEntry.id)))


def _record(s, instance: int, event: str, marker: str) -> None:
    journal.record(s, instance, event, actor="test", message=marker)


def test_a_savepoint_rolled_back_forgets_only_its_own_rows(backend: Backend, instance: int) -> None:
    marker = "savepoint-rollback"
    with backend.services.database.session() as s:
        _record(s, instance, "before", marker)
        with pytest.raises(ValueError), s.begin_nested():
            _record(s, instance, "inside", marker)
            raise ValueError("the savepoint's work fails")
        _record(s, instance, "after", marker)
    assert _stored(backend, instance, marker) == ["before", "after"]


def test_released_savepoints_hand_their_rows_outwards(backend: Backend, instance: int) -> None:
    marker = "savepoint-release"
    with backend.services.database.session() as s:
        _record(s, instance, "outer", marker)
        with s.begin_nested():
            _record(s, instance, "first level", marker)
            with pytest.raises(ValueError), s.begin_nested():
                _record(s, instance, "second level, rolled back", marker)
                raise ValueError("inner failure")
            with s.begin_nested():
                _record(s, instance, "second level, released", marker)
        assert [r.event for r in journal.read(s, instance) if r.message == marker] == [
            "outer", "first level", "second level, released"]
    assert _stored(backend, instance, marker) == ["outer", "first level", "second level, released"]


def test_a_read_sees_pending_rows_without_writing_them_and_a_rollback_drops_them(backend: Backend,
                                                                                   instance: int) -> None:
    marker = "pending-read"
    db = backend.services.database
    s = db.sessionmaker()
    try:
        _record(s, instance, "uncommitted", marker)
        assert [r.event for r in journal.read(s, instance) if r.message == marker] == ["uncommitted"]
        s.rollback()
        assert [r.event for r in journal.read(s, instance) if r.message == marker] == []
        s.commit()
    finally:
        s.close()
    assert _stored(backend, instance, marker) == []


@pytest.fixture
def taken_year(backend: Backend) -> Iterator[int]:
    """A case_counter key that exists: inserting it again breaks the primary key, as a real race does."""
    db = backend.services.database
    with db.session() as s:
        s.add(CaseCounter(year=1901, value=1))
    yield 1901
    with db.session() as s:
        s.execute(delete(CaseCounter).where(CaseCounter.year == 1901))


def test_a_failed_flush_inside_a_savepoint_keeps_the_rows_recorded_before_it(backend: Backend, instance: int,
                                                                             taken_year: int) -> None:
    """SQLAlchemy rolls back the flush's own subtransaction first: only the savepoint's rows go."""
    marker = "savepoint-flush"
    with backend.services.database.session() as s:
        _record(s, instance, "before", marker)
        with pytest.raises(IntegrityError), s.begin_nested():
            _record(s, instance, "inside", marker)
            s.add(CaseCounter(year=taken_year, value=2))
            s.flush()
        _record(s, instance, "after", marker)
    assert _stored(backend, instance, marker) == ["before", "after"]


def test_a_savepoint_whose_release_fails_keeps_the_rows_recorded_before_it(backend: Backend, instance: int,
                                                                           taken_year: int) -> None:
    """The pattern of tasks/cases/numbering.py: the duplicate is found when the savepoint is released."""
    marker = "savepoint-release-fails"
    with backend.services.database.session() as s:
        _record(s, instance, "before", marker)
        try:
            with s.begin_nested():
                _record(s, instance, "inside", marker)
                s.add(CaseCounter(year=taken_year, value=2))
        except IntegrityError:
            _record(s, instance, "after", marker)
    assert _stored(backend, instance, marker) == ["before", "after"]


def test_a_session_closed_without_commit_leaves_nothing_for_its_next_transaction(backend: Backend,
                                                                                  instance: int) -> None:
    marker = "closed-session"
    s = backend.services.database.sessionmaker()
    try:
        s.scalar(select(ProcessInstance.id).limit(1))
        _record(s, instance, "abandoned", marker)
        s.close()
        _record(s, instance, "next transaction", marker)
        s.commit()
    finally:
        s.close()
    assert _stored(backend, instance, marker) == ["next transaction"]


def test_rows_of_several_tables_are_written_alike_every_time(backend: Backend, instance: int) -> None:
    """Journal and step rows of one transaction go out together (on PostgreSQL one statement, built once per
    shape of rows and then reused): values, JSON details and the columns a row leaves out arrive as given."""
    from datetime import UTC, datetime

    from engine import pending_rows
    from engine.models import Step

    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    for attempt in ("first", "second"):  # the same shape twice
        marker = f"several-tables-{attempt}"
        with backend.services.database.session() as s:
            journal.record(s, instance, "one", actor="test", message=marker, details={"n": 1, "ru": "ёж"})
            journal.record(s, instance, "two", actor="test", message=marker)
            pending_rows.add(s, Step.__table__, {
                "instance_id": instance, "process_id": marker, "element": "Task_1", "kind": "ServiceTask",
                "source": None, "entered_at": at, "started_at": at, "ended_at": at, "due_at": None,
                "actor": None, "details": {"decision": "d"}})
        with backend.services.database.session() as s:
            rows = s.execute(select(JournalEntry.event, JournalEntry.details)
                             .where(JournalEntry.instance_id == instance, JournalEntry.message == marker)
                             .order_by(JournalEntry.id)).all()
            steps = s.execute(select(Step.element, Step.ended_at, Step.details, Step.due_at)
                              .where(Step.process_id == marker)).all()
            s.execute(delete(Step).where(Step.process_id == marker))
        assert [tuple(r) for r in rows] == [("one", {"n": 1, "ru": "ёж"}), ("two", None)]
        assert [(e, ended.astimezone(UTC), d, due) for e, ended, d, due in steps] == \
            [("Task_1", at, {"decision": "d"}, None)]


def _outbox_row(instance: int, guid: str) -> dict:
    from engine.clock import utcnow

    return {"instance_id": instance, "task_guid": guid, "task_spec": "pending-test", "operator": "demo.lookup",
            "params": {"key": guid}, "status": "cancelled", "attempts": 0, "created_at": utcnow(), "job_id": None,
            "dispatched_at": None, "next_attempt_at": None, "last_error": None, "finished_at": None}


def test_an_update_and_rows_with_ids_wait_for_the_commit_yet_the_next_statement_sees_them(backend: Backend,
                                                                                         instance: int) -> None:
    """engine/pending_rows.py: how a save writes an instance's row and its new outbox rows. The object holds the
    new values at once (nothing for the ORM to flush); a statement of the same transaction reads them as stored;
    each row's callback gets the id of its own row."""
    from engine import pending_rows
    from engine.models import ServiceCall

    marker = f"pending-{uuid.uuid4().hex[:8]}"
    guids = [f"{marker}-{i}" for i in range(3)]
    ids: dict[str, int] = {}
    db = backend.services.database
    with db.session() as s:
        inst = s.get(ProcessInstance, instance)
        before = inst.status
        pending_rows.update(s, inst, {"status": marker})
        for guid in guids:
            pending_rows.add(s, ServiceCall.__table__, _outbox_row(instance, guid),
                             on_id=lambda row_id, guid=guid: ids.__setitem__(guid, row_id))
        _record(s, instance, "with them", marker)
        assert inst.status == marker and not s.dirty and ids == {}
        assert s.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance)) == marker
        assert set(ids) == set(guids)
        seen = dict(s.execute(select(ServiceCall.id, ServiceCall.task_guid)
                              .where(ServiceCall.task_guid.in_(guids))).all())
        assert seen == {row_id: guid for guid, row_id in ids.items()}
        # The append-only rows still wait for the commit.
        assert [r.event for r in journal.pending(s, instance) if r.message == marker] == ["with them"]
    with db.session() as s:
        assert s.get(ProcessInstance, instance).status == marker
        s.get(ProcessInstance, instance).status = before
        s.execute(delete(ServiceCall).where(ServiceCall.task_guid.in_(guids)))
    assert _stored(backend, instance, marker) == ["with them"]


def test_an_update_and_a_row_in_a_savepoint_rolled_back_leave_nothing(backend: Backend, instance: int) -> None:
    from engine import pending_rows
    from engine.models import ServiceCall

    marker = f"savepoint-{uuid.uuid4().hex[:8]}"
    ids: list[int] = []
    db = backend.services.database
    with db.session() as s:
        before = s.get(ProcessInstance, instance).status
    with db.session() as s:
        inst = s.get(ProcessInstance, instance)
        with pytest.raises(ValueError), s.begin_nested():
            pending_rows.update(s, inst, {"status": marker})
            pending_rows.add(s, ServiceCall.__table__, _outbox_row(instance, marker), on_id=ids.append)
            raise ValueError("the savepoint's work fails")
        assert inst.status == before
    assert ids == []
    with db.session() as s:
        assert s.get(ProcessInstance, instance).status == before
        assert s.scalar(select(ServiceCall.id).where(ServiceCall.task_guid == marker)) is None
