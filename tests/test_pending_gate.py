"""A gated transaction (engine/pending_rows.py, PostgreSQL): the gate's statements run before anything the
transaction writes - within the commit's one statement, or alone before the transaction's first other
statement - and a gate that refuses (engine_gate_refused, from the migration 0027_gate_refusal) leaves
nothing of the transaction behind, rows and gate alike. A gated transaction whose one statement is the
commit's runs it on its own, with no transaction around it."""

from __future__ import annotations

import uuid

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import BigInteger, Integer, bindparam, select

from engine import journal, pending_rows
from engine.models import JournalEntry, ProcessInstance
from tests.support.queries import open_at_commit, sql_log

# Marks the instance's row as touched (its updated_at), and refuses unless it touched `g_expected` rows.
_TOUCH = pending_rows.GateSql(
    ctes="gate_touch AS (UPDATE process_instance SET updated_at = now() WHERE id = :g_id RETURNING id)",
    value="SELECT CASE WHEN count(*) = :g_expected THEN 1 ELSE engine_gate_refused('not touched') END "
          "FROM gate_touch",
    binds=(bindparam("g_id", type_=BigInteger), bindparam("g_expected", type_=Integer)))


@pytest.fixture
def instance(backend) -> int:
    info = backend.services.runtime.start("service_chain", {"start_key": "g"},
                                          business_key=f"GATE-{uuid.uuid4().hex[:8]}")
    return info.id


def _entries(backend, instance_id: int, event_name: str) -> int:
    with backend.services.database.session() as s:
        return len(s.scalars(select(JournalEntry.id).where(JournalEntry.instance_id == instance_id,
                                                             JournalEntry.event == event_name)).all())


def _updated_at(backend, instance_id: int):
    with backend.services.database.session() as s:
        return s.scalar(select(ProcessInstance.updated_at).where(ProcessInstance.id == instance_id))


def test_a_gated_transactions_one_statement_runs_on_its_own_gate_first(backend, instance):
    engine = backend.services.database.engine
    with sql_log(engine) as log, open_at_commit(engine) as at_commit, \
            backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance, "g_expected": 1})
        journal.record(s, instance, "gate_passed", actor="test")
    assert len(log.statements) == 1 and log.statements[0].startswith("WITH gate_touch AS"), log.report()
    # No BEGIN went before it and no COMMIT after: the statement was its own transaction.
    assert at_commit == [TransactionStatus.IDLE]
    assert _entries(backend, instance, "gate_passed") == 1


def test_a_refusal_leaves_nothing_of_the_gate_and_the_rows(backend, instance):
    before = _updated_at(backend, instance)
    with pytest.raises(pending_rows.GateRefused, match="not touched"), backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance, "g_expected": 2})
        journal.record(s, instance, "gate_refused", actor="test")
    assert _entries(backend, instance, "gate_refused") == 0
    assert _updated_at(backend, instance) == before


def test_a_gate_runs_alone_before_the_transactions_first_other_statement(backend, instance):
    engine = backend.services.database.engine
    before = _updated_at(backend, instance)
    with sql_log(engine) as log, open_at_commit(engine) as at_commit, \
            backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance, "g_expected": 1})
        journal.record(s, instance, "gate_first", actor="test")
        s.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance))  # a read of the transaction
    assert log.statements[0].startswith("WITH gate_touch AS"), log.report()
    assert log.statements[1].startswith("SELECT"), log.report()
    assert at_commit == [TransactionStatus.INTRANS]  # several statements: one transaction around them
    assert _entries(backend, instance, "gate_first") == 1
    assert _updated_at(backend, instance) != before


def test_a_gate_that_refuses_before_a_statement_stops_that_statement_too(backend, instance):
    with sql_log(backend.services.database.engine) as log, pytest.raises(pending_rows.GateRefused), \
            backend.services.database.session() as s:
        pending_rows.gate(s, _TOUCH, {"g_id": instance, "g_expected": 2})
        journal.record(s, instance, "gate_refused_early", actor="test")
        s.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance))
    assert len(log.statements) == 1, log.report()  # the gate's, and nothing after it
    assert _entries(backend, instance, "gate_refused_early") == 0
