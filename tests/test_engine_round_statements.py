"""What a start and a round of service results cost in SQL statements on PostgreSQL (engine/pending_rows.py).

An instance's save writes its row, its new outbox rows, its journal rows and its steps in one statement (one
data-modifying CTE per table) just before the commit, instead of the ORM's flush (an UPDATE and an INSERT)
and a second statement for the rest: per instance of a three-service chain that is 7 statements fewer, and
the ORM's flush was the largest share of a worker's CPU. The new outbox rows still get their ids before the
commit (the RQ job carries them) and the chain still runs inline, one restore per job.

A round of results takes the instance lock and finishes its successes' outbox rows in one statement too
(engine/settle.py): the lock first, so that a round never holds an outbox row another writer of the instance
needs while it waits for that writer's instance lock. The job's next rounds on the instance it has just
committed put that lock and finish as a gate into the save's statement: a round is then one statement, and
any other writer in between sends it the usual way.
"""

from __future__ import annotations

import threading
import uuid

from psycopg.pq import TransactionStatus
from sqlalchemy import select, text, update

from engine import advances
from engine.clock import utcnow
from engine.models import ProcessInstance, ServiceCall
from engine.runtime import Runtime, ServiceOutcome
from engine.service_worker import _JOB_CALLS_AND_ROWS, ServiceWorker
from engine.settle import _LOCK_FINISH, _UNCHANGED_GATE
from engine.warm import WarmWorkflows
from tests.support import operators  # noqa: F401  (registers demo.lookup, which the jobs here run in-process)
from tests.support.backend import wait_for
from tests.support.queries import calls, events, open_at_commit, sql_log, statement_waits_on_lock


def _key() -> str:
    return f"ROUND-{uuid.uuid4().hex[:8]}"


def test_a_start_is_its_insert_and_one_write_in_one_commit(backend):
    rt = Runtime(backend.services.database, None)
    rt.start("service_chain", {"start_key": "w"}, business_key=_key())  # warms the version and the spec
    with sql_log(backend.services.database.engine) as log:
        info = rt.start("service_chain", {"start_key": "s"}, business_key=_key())
    assert log.commits == 1, log.report()
    assert len(log.statements) == 2, log.report()  # the instance's INSERT; its state, outbox row, journal, step
    assert log.statements[1].startswith("WITH "), log.report()
    (call,) = calls(backend.services, info.id)
    assert (call.status, call.task_spec, call.params) == ("queued", "first", {"key": "s"})


def test_a_round_is_its_lock_with_the_finish_and_one_write_and_hands_its_new_row_to_the_next_round(backend):
    rt = Runtime(backend.services.database, None)
    info = rt.start("service_chain", {"start_key": "a"}, business_key=_key())
    warm = WarmWorkflows()
    (queued,) = calls(backend.services, info.id)
    job_id, key = queued.job_id, queued.params["key"]
    for round_ in range(3):
        with sql_log(backend.services.database.engine) as log:
            chained = rt.apply_service_outcomes(info.id, [ServiceOutcome(queued.id, True, result={"key": key},
                                                                         task_guid=queued.task_guid)],
                                                inline_job_id=job_id, warm=warm)
        assert log.commits == 1, log.report()
        if round_ == 0:  # the instance lock with the successes' UPDATE ... RETURNING, and the save's statement
            assert len(log.statements) == 2, log.report()
            assert log.statements[0].startswith("WITH locked AS"), log.report()
        else:  # on what the round before committed: the lock and the UPDATE ride in the save's statement
            assert len(log.statements) == 1, log.report()
            assert log.statements[0].startswith("WITH gate_held AS"), log.report()
        if not chained:
            break
        (queued,) = chained
        row = next(c for c in calls(backend.services, info.id) if c.id == queued.id)
        assert (row.task_guid, row.operator, row.params, row.job_id, row.status) == \
            (queued.task_guid, queued.operator, queued.params, job_id, "queued")
        key = queued.params["key"]
    assert rt.instance(info.id).completed
    assert rt.workflow_data(info.id)["third"] == {"key": "abc"}
    assert {(c.status, c.attempts) for c in calls(backend.services, info.id)} == {("done", 1)}


def test_a_round_waits_for_the_instance_lock_before_it_touches_an_outbox_row(backend):
    database = backend.services.database
    rt = Runtime(database, None)
    info = rt.start("service_chain", {"start_key": "r"}, business_key=_key())
    (queued,) = calls(backend.services, info.id)
    outcome = ServiceOutcome(queued.id, True, result={"key": "r"}, task_guid=queued.task_guid)
    # Another writer of the instance, e.g. a supervisor's cancel. Had the round locked the outbox row before the
    # instance, the cancel would wait for the round, which waits for the cancel's transaction: PostgreSQL would
    # end one of them as a deadlock.
    applied = _round_behind_a_lock(database, info.id, lambda: rt.apply_service_outcomes(info.id, [outcome]),
                                   "WITH locked AS", "UPDATE service_call SET status = 'cancelled' WHERE id = :id",
                                   queued.id)
    assert applied == []  # the row it waited for is no longer queued: the result changes nothing
    (row,) = calls(backend.services, info.id)
    assert (row.status, row.attempts) == ("cancelled", 0)
    assert "service_completed" not in events(backend.services, info.id)
    assert not rt.instance(info.id).completed


def _apply(rt: Runtime, instance_id: int, call, warm: WarmWorkflows) -> list:
    """A success for `call` (an outbox row or a chained call), as job "J" that runs it applies it."""
    return rt.apply_service_outcomes(instance_id, [ServiceOutcome(call.id, True, result={"key": call.params["key"]},
                                                                  task_guid=call.task_guid)],
                                     inline_job_id="J", warm=warm)


def _counts(database, instance_id: int) -> dict[str, int]:
    with database.session() as s:
        return advances.of(s.get(ProcessInstance, instance_id).projection)


def _first_round_done(backend, start_key: str):
    """An instance of the chain whose first result job "J" has applied: its runtime, the job's kept rows and
    the second call, which the job runs next."""
    rt = Runtime(backend.services.database, None)
    info = rt.start("service_chain", {"start_key": start_key}, business_key=_key())
    warm = WarmWorkflows()
    (second,) = _apply(rt, info.id, calls(backend.services, info.id)[0], warm)
    return rt, info, warm, second


def _round_behind_a_lock(database, instance_id: int, round_, waits_at: str, change: str, row_id: int) -> object:
    """What `round_` returns, run in a thread while another transaction holds the instance's lock: once the
    round's statement beginning with `waits_at` waits for it, that transaction runs `change` (on the row
    `row_id`) and commits."""
    applied: list[object] = []
    with database.engine.connect() as other:
        other.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": instance_id})
        thread = threading.Thread(target=lambda: applied.append(round_()))
        thread.start()
        wait_for(lambda: statement_waits_on_lock(database, waits_at), timeout=30, interval=0.05,
                 message="the round to wait for the instance lock")
        other.execute(text(change), {"id": row_id})
        other.commit()
    thread.join(timeout=30)
    (result,) = applied
    return result


def _openings(log) -> list[str]:
    """What each statement begins with, up to its first CTE's name."""
    return [sql.split(" AS", 1)[0] for sql in log.statements]


def test_a_round_on_what_its_job_committed_goes_the_usual_way_once_another_writer_changed_the_instance(backend):
    database = backend.services.database
    rt, info, warm, second = _first_round_done(backend, "o")
    with database.session() as s:  # another writer: not the state, only the row (a supervisor's note, say)
        s.execute(update(ProcessInstance).where(ProcessInstance.id == info.id).values(updated_at=utcnow()))
    with sql_log(database.engine) as log:
        (third,) = _apply(rt, info.id, second, warm)
    # The gated statement found the row changed and was rolled back; the round then locked and read the row.
    assert _openings(log) == ["WITH gate_held", "WITH locked", "WITH pending_0"], log.report()
    assert log.commits == 1, log.report()
    assert _counts(database, info.id) == {"saves": 3, "restores": 2}  # the kept workflow is not trusted either
    rows = {c.id: (c.status, c.attempts) for c in calls(backend.services, info.id)}
    assert rows[second.id] == ("done", 1) and rows[third.id] == ("queued", 0)
    assert events(backend.services, info.id).count("service_completed") == 2
    _apply(rt, info.id, third, warm)
    assert rt.workflow_data(info.id)["third"] == {"key": "obc"}


def test_a_round_on_what_its_job_committed_changes_nothing_when_its_outbox_row_is_no_longer_queued(backend):
    database = backend.services.database
    rt, info, warm, second = _first_round_done(backend, "c")
    with database.session() as s:  # the row alone, the instance untouched: the gate's version still holds
        s.execute(update(ServiceCall).where(ServiceCall.id == second.id).values(status="cancelled"))
    state = _state(database, info.id)
    assert _apply(rt, info.id, second, warm) == []
    assert _state(database, info.id) == state
    assert {c.id: (c.status, c.attempts) for c in calls(backend.services, info.id)}[second.id] == ("cancelled", 0)
    assert events(backend.services, info.id).count("service_completed") == 1


def test_a_round_on_what_its_job_committed_that_waited_for_the_lock_sees_what_the_lock_holder_did(backend):
    database = backend.services.database
    rt, info, warm, second = _first_round_done(backend, "l")
    # A supervisor suspends the case while the operator runs.
    applied = _round_behind_a_lock(database, info.id, lambda: _apply(rt, info.id, second, warm), "WITH gate_held AS",
                                   "UPDATE process_instance SET suspended_at = now() WHERE id = :id", info.id)
    # PostgreSQL re-checked the version on the row as committed: the round went the usual way, which parks
    # the call of a suspended instance until it is resumed.
    assert applied == []
    assert {c.id: (c.status, c.attempts) for c in calls(backend.services, info.id)}[second.id] == ("suspended", 0)
    assert events(backend.services, info.id).count("service_completed") == 1


def _state(database, instance_id: int) -> str:
    with database.session() as s:
        return s.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))


def test_a_job_reads_its_calls_with_the_instances_row_and_each_of_its_rounds_is_one_statement(backend):
    database = backend.services.database
    rt = Runtime(database, None)
    info = rt.start("service_chain", {"start_key": "j"}, business_key=_key())
    (queued,) = calls(backend.services, info.id)
    with sql_log(database.engine) as log, open_at_commit(database.engine) as at_commit, database.scope():
        ran = ServiceWorker(rt, threads=1).run([queued.id], queued.job_id)
    assert ran == 3
    # The job's first read, then per round the gated save: no lock statement at all, and the read and each save
    # their own transaction, with no BEGIN and no COMMIT round trip.
    assert log.statements[0].startswith("SELECT"), log.report()
    assert _openings(log)[1:] == ["WITH gate_held"] * 3, log.report()
    assert at_commit == [TransactionStatus.IDLE] * 4
    assert rt.instance(info.id).completed
    assert _counts(database, info.id) == {"saves": 4, "restores": 1}
    assert {(c.status, c.attempts) for c in calls(backend.services, info.id)} == {("done", 1)}
    assert rt.workflow_data(info.id)["third"] == {"found": True, "key": "jbc"}


def test_a_job_whose_instance_changed_while_its_operator_ran_applies_the_result_the_usual_way(
        backend, tmp_path, monkeypatch):
    database = backend.services.database
    monkeypatch.setenv("TEST_GATE_DIR", str(tmp_path))  # demo.lookup waits for the file "open" (tests/support)
    rt = Runtime(database, None)
    info = rt.start("service_chain", {"start_key": "gate"}, business_key=_key())
    (queued,) = calls(backend.services, info.id)
    logs: list = []

    def job() -> None:
        with sql_log(database.engine) as log, database.scope():
            ServiceWorker(rt, threads=1).run([queued.id], queued.job_id)
        logs.append(log)

    runner = threading.Thread(target=job)
    runner.start()
    wait_for(lambda: (tmp_path / "gate.started").exists(), timeout=30, message="the operator to start")
    with database.session() as s:  # a supervisor's change while the registry is being asked
        s.execute(update(ProcessInstance).where(ProcessInstance.id == info.id).values(updated_at=utcnow()))
    (tmp_path / "open").write_text("")
    runner.join(timeout=60)
    (log,) = logs
    # The first round's gate found the row changed: rolled back, then the lock, and the next rounds gated again.
    assert _openings(log)[1:] == \
        ["WITH gate_held", "WITH locked", "WITH pending_0", "WITH gate_held", "WITH gate_held"], log.report()
    assert rt.instance(info.id).completed
    assert {(c.status, c.attempts) for c in calls(backend.services, info.id)} == {("done", 1)}
    assert events(backend.services, info.id).count("service_completed") == 3


def test_a_round_and_a_jobs_read_fetch_their_outbox_rows_by_id_however_long_the_backlog(backend):
    """With statistics taken while nothing was queued, PostgreSQL would scan every queued row through the status
    index and filter the ids: one scan of the whole backlog per round. The ids go by the primary key instead."""
    database = backend.services.database
    rt = Runtime(database, None)
    info = rt.start("service_chain", {"start_key": "b"}, business_key=_key())
    (queued,) = calls(backend.services, info.id)
    with database.engine.connect() as conn:
        conn.execute(text("ANALYZE service_call"))  # taken now: hardly a row is queued
        conn.execute(text(  # then a backlog of 3,000 queued rows, which the statistics do not know of
            "INSERT INTO service_call (instance_id, task_guid, task_spec, operator, params, status, attempts, "
            "created_at) SELECT :id, md5(g::text), 'backlog', 'demo.lookup', '{}', 'queued', 0, now() "
            "FROM generate_series(1, 3000) AS g"), {"id": info.id})
        conn.commit()
        ids = [queued.id, queued.id + 1]
        plans = {
            "the job's read": _plan(conn, _JOB_CALLS_AND_ROWS, {"ids": ids}),
            "the lock with the finish": _plan(conn, _LOCK_FINISH, {"lock_id": info.id, "ids": ids, "now": utcnow()}),
            "the gate": "\n".join(conn.execute(
                text(f"EXPLAIN WITH {_UNCHANGED_GATE.ctes} {_UNCHANGED_GATE.value}")
                .bindparams(*_UNCHANGED_GATE.binds),
                {"g_id": info.id, "g_version": 1, "g_ids": ids, "g_attempts": [0, 0], "g_now": utcnow(),
                 "g_expected": 2}).scalars()),
        }
    for name, plan in plans.items():
        assert "service_call_pkey" in plan and "ix_service_call_job" not in plan, f"{name}:\n{plan}"


def _plan(conn, statement, params: dict) -> str:
    compiled = statement.compile(dialect=conn.dialect)
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.construct_params(params)))
