"""A gated transaction (engine/pending_rows.py, PostgreSQL): the gate's statements run before anything the
transaction writes - within the commit's one statement, or alone before the transaction's first other
statement - and a check that raises rolls the whole transaction back, rows and gate alike."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import BigInteger, bindparam, select

from engine import journal, pending_rows
from engine.models import JournalEntry, ProcessInstance
from tests.support.queries import sql_log

# Marks the instance's row as touched (its updated_at) and says how many rows it touched.
_TOUCH = pending_rows.GateSql(
    ctes="gate_touch AS (UPDATE process_instance SET updated_at = now() WHERE id = :g_id RETURNING id)",
    value="SELECT count(*) FROM gate_touch",
    binds=(bindparam("g_id", type_=BigInteger),))


class Refused(Exception):
    pass


@pytest.fixture
def instance(backend) -> int:
    info = backend.services.runtime.start("service_chain", {"start_key": "g"},
                                          business_key=f"GATE-{uuid.uuid4().hex[:8]}")
    return info.id


def _entries(backend, instance_id: int, event: str) -> int:
    with backend.services.database.session() as s:
        return len(s.scalars(select(JournalEntry.id).where(JournalEntry.instance_id == instance_id,
                                                             JournalEntry.event == event)).all())


def _updated_at(backend, instance_id: int):
    with backend.services.database.session() as s:
        return s.scalar(select(ProcessInstance.updated_at).where(ProcessInstance.id == instance_id))


def test_a_gate_runs_in_the_commits_statement_ahead_of_the_rows_and_its_value_reaches_the_check(backend, instance):
    seen: list[int] = []
    with sql_log(backend.services.database.engine) as log, backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance}, seen.append)
        journal.record(s, instance, "gate_passed", actor="test")
    assert seen == [1]
    assert len(log.statements) == 1 and log.statements[0].startswith("WITH gate_touch AS"), log.report()
    assert _entries(backend, instance, "gate_passed") == 1


def test_a_check_that_raises_rolls_back_the_gate_and_the_rows(backend, instance):
    before = _updated_at(backend, instance)

    def refuse(value: int) -> None:
        raise Refused(value)

    with pytest.raises(Refused), backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance}, refuse)
        journal.record(s, instance, "gate_refused", actor="test")
    assert _entries(backend, instance, "gate_refused") == 0
    assert _updated_at(backend, instance) == before


def test_a_gate_runs_alone_before_the_transactions_first_other_statement(backend, instance):
    seen: list[int] = []
    with sql_log(backend.services.database.engine) as log, backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance}, seen.append)
        journal.record(s, instance, "gate_first", actor="test")
        assert seen == []
        s.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance))  # a read of the transaction
        assert seen == [1]
    assert log.statements[0].startswith("WITH gate_touch AS"), log.report()
    assert log.statements[1].startswith("SELECT"), log.report()
    assert _entries(backend, instance, "gate_first") == 1


def test_a_gate_that_refuses_before_a_statement_stops_that_statement_too(backend, instance):
    def refuse(value: int) -> None:
        raise Refused(value)

    with sql_log(backend.services.database.engine) as log, pytest.raises(Refused), \
            backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance}, refuse)
        journal.record(s, instance, "gate_refused_early", actor="test")
        s.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance))
    assert len(log.statements) == 1, log.report()  # the gate's, and nothing after it
    assert _entries(backend, instance, "gate_refused_early") == 0
