"""Migration runs: the dry run, the batched move as a background job, and its revert.

A run is a stored row (`instance_migration`) whose counters are its progress. The move goes through
the running cases of the source version in id order, a batch per transaction with the batch's rows
locked like any other change to an instance; each case is judged again at that moment (it may have
moved since the dry run), and each moved case is journaled and keeps its previous state for a revert.
A revert puts back state and version of the cases whose state is still exactly what the move left;
a case that went on since keeps its new version and is reported as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import journal
from .clock import utcnow
from .errors import Conflict, NotFound
from .migration import Migrator, Obstacle, VersionPair, running_instances, state_digest, version_pair
from .migration_models import InstanceMigration, InstanceMigrationCase
from .models import ProcessInstance
from .runtime import Runtime, _Advance
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
BATCH_SIZE = 100
JOB_FUNC = "engine.migration_runs.run_job"
JOB_TIMEOUT_S = 6 * 3600
REVERTIBLE = ("done", "failed")  # a failed run may have moved some cases already
Progress = Callable[[InstanceMigration], None]


@dataclass(frozen=True)
class Verdict:
    instance_id: int
    business_key: str | None
    obstacle: Obstacle | None

    @property
    def movable(self) -> bool:
        return self.obstacle is None


def dry_run(runtime: Runtime, process_id: str, source: int, target: int, actor: str | None) -> list[Verdict]:
    """Every running case of `source`, movable to `target` or not and why; changes no case (journaled)."""
    migrator = Migrator(runtime.serializer)
    verdicts: list[Verdict] = []
    with runtime.db.session() as s:
        # The session may be a request's: its own objects (the signed-in user) stay attached.
        theirs = set(s.identity_map.keys())
        pair = version_pair(s, runtime.specs, process_id, source, target)
        last = 0
        while True:
            page = list(s.scalars(running_instances(s, pair, last, 500)))
            if not page:
                break
            for inst in page:
                verdicts.append(Verdict(inst.id, inst.business_key, _judge(runtime, migrator, s, pair, inst)))
            last = page[-1].id
            for key, obj in list(s.identity_map.items()):  # the states of a page are not needed again
                if key not in theirs:
                    s.expunge(obj)
        movable = sum(v.movable for v in verdicts)
        journal.record(s, None, "migration_dry_run", actor=actor, message=f"{process_id} v{source} -> v{target}",
                       details={"process_id": process_id, "from_version": source, "to_version": target,
                                "movable": movable, "blocked": len(verdicts) - movable})
    return verdicts


def create_run(runtime: Runtime, process_id: str, source: int, target: int, actor: str | None) -> int:
    """Store a queued run (after checking both versions exist); its id."""
    with runtime.db.session() as s:
        pair = version_pair(s, runtime.specs, process_id, source, target)
        run = InstanceMigration(process_id=process_id, source_version_id=pair.source_id,
                                target_version_id=pair.target_id, source_version=source, target_version=target,
                                status="queued", actor=actor, created_at=utcnow(), total=0, processed=0,
                                migrated=0, blocked=0, reverted=0, kept=0)
        s.add(run)
        s.flush()
        journal.record(s, None, "migration_requested", actor=actor, message=f"{process_id} v{source} -> v{target}",
                       details={"migration_id": run.id, "process_id": process_id, "from_version": source,
                                "to_version": target})
        return run.id


def request_revert(runtime: Runtime, migration_id: int, actor: str | None) -> None:
    """Queue the revert of a finished run; a run that is not finished (or already reverted) is a Conflict."""
    with runtime.db.session() as s:
        run = _locked_run(s, migration_id)
        if run.status not in REVERTIBLE:
            raise Conflict(f"migration {migration_id} is {run.status}, only a finished or failed one can be reverted")
        run.status, run.revert_actor, run.error = "revert_queued", actor, None
        journal.record(s, None, "migration_revert_requested", actor=actor, message=_label(run),
                       details={"migration_id": run.id})


def enqueue(runtime: Runtime, redis: Redis, queue_name: str, migration_id: int) -> None:
    """Hand the run (its move or its revert, by its status) to a worker.

    A run that cannot be queued (Redis down) is marked failed at once, so its page does not wait for a
    worker that will never come; the error goes on to the caller.
    """
    try:
        Queue(queue_name, connection=redis).enqueue_call(
            JOB_FUNC, args=(migration_id,), timeout=JOB_TIMEOUT_S, result_ttl=0, failure_ttl=24 * 3600)
    except Exception as exc:
        with runtime.db.session() as s:
            run = _locked_run(s, migration_id)
            run.status, run.error, run.finished_at = "failed", f"not queued: {exc}", utcnow()
        raise


def run_job(migration_id: int) -> str:
    """The RQ job: carry out whatever the run is queued for; its status afterwards."""
    from .context import get_services

    return execute(get_services().runtime, migration_id)


def execute(runtime: Runtime, migration_id: int, progress: Progress | None = None,
            batch_size: int = BATCH_SIZE) -> str:
    with runtime.db.session() as s:
        status = _locked_run(s, migration_id).status
    if status == "queued":
        return _guarded(runtime, migration_id, lambda: _migrate(runtime, migration_id, progress, batch_size))
    if status == "revert_queued":
        return _guarded(runtime, migration_id, lambda: _revert(runtime, migration_id, progress, batch_size))
    return status  # taken by another worker, or finished: nothing to do


def get_run(session: Session, migration_id: int) -> InstanceMigration:
    run = session.get(InstanceMigration, migration_id)
    if run is None:
        raise NotFound(f"migration {migration_id} does not exist")
    return run


def run_cases(session: Session, migration_id: int, status: str | None = None) -> list[InstanceMigrationCase]:
    query = select(InstanceMigrationCase).where(InstanceMigrationCase.migration_id == migration_id)
    if status is not None:
        query = query.where(InstanceMigrationCase.status == status)
    return list(session.scalars(query.order_by(InstanceMigrationCase.instance_id)))


# ----------------------------------------------------------------------------------------- internals
def _guarded(runtime: Runtime, migration_id: int, work: Callable[[], str]) -> str:
    """A run that breaks says so on its row (the page shows it) instead of showing progress for ever."""
    try:
        return work()
    except Exception as exc:
        log.exception("migration %s failed", migration_id)
        with runtime.db.session() as s:
            run = _locked_run(s, migration_id)
            run.status, run.error, run.finished_at = "failed", f"{type(exc).__name__}: {exc}", utcnow()
        raise


def _locked_run(s: Session, migration_id: int) -> InstanceMigration:
    run = s.scalar(select(InstanceMigration).where(InstanceMigration.id == migration_id).with_for_update()
                   .execution_options(populate_existing=True))
    if run is None:
        raise NotFound(f"migration {migration_id} does not exist")
    return run


def _label(run: InstanceMigration) -> str:
    return f"{run.process_id} v{run.source_version} -> v{run.target_version}"


def _migrate(runtime: Runtime, migration_id: int, progress: Progress | None, batch_size: int) -> str:
    with runtime.db.session() as s:
        run = _locked_run(s, migration_id)
        pair = version_pair(s, runtime.specs, run.process_id, run.source_version, run.target_version)
        run.status = "running"
        run.total = s.scalar(select(func.count()).select_from(running_instances(s, pair).subquery())) or 0
        actor = run.actor
    migrator = Migrator(runtime.serializer)
    last = 0
    while True:
        post = _Advance()
        with runtime.db.session() as s:
            run = _locked_run(s, migration_id)
            batch = list(s.scalars(running_instances(s, pair, last, batch_size).with_for_update()))
            if not batch:
                run.status, run.finished_at = "done", utcnow()
                journal.record(s, None, "migration_finished", actor=actor, message=_label(run),
                               details={"migration_id": run.id, "migrated": run.migrated, "blocked": run.blocked})
                break
            for inst in batch:
                _move_one(runtime, migrator, s, pair, run, inst, actor, post)
            run.processed += len(batch)
            last = batch[-1].id
        runtime._after_commit(post)
        if progress is not None:
            progress(run)
    if progress is not None:
        progress(run)
    return run.status


def _judge(runtime: Runtime, migrator: Migrator, s: Session, pair: VersionPair,
           inst: ProcessInstance) -> Obstacle | None:
    """A suspended case stays as the supervisor froze it: it is moved after it is resumed."""
    if inst.suspended_at is not None:
        return Obstacle("suspended")
    wf = runtime._load(s, inst)
    with unit_of_work():
        return migrator.migrate(pair, wf)


def _move_one(runtime: Runtime, migrator: Migrator, s: Session, pair: VersionPair, run: InstanceMigration,
              inst: ProcessInstance, actor: str | None, post: _Advance) -> None:
    wf = None if inst.suspended_at is not None else runtime._load(s, inst)
    with unit_of_work() as uow:
        obstacle = Obstacle("suspended") if wf is None else migrator.migrate(pair, wf)
        if obstacle is not None:
            s.add(InstanceMigrationCase(migration_id=run.id, instance_id=inst.id, business_key=inst.business_key,
                                        status="blocked", reason=obstacle.as_dict()))
            run.blocked += 1
            return
        previous = (inst.state, inst.projection, inst.version_id)
        inst.version_id = pair.target_id
        runtime._save(s, inst, wf, uow, actor, post)
    journal.record(s, inst.id, "migrated", actor=actor, message=f"v{pair.source_version} -> v{pair.target_version}",
                   details={"migration_id": run.id, "process_id": pair.process_id,
                            "from_version": pair.source_version, "to_version": pair.target_version})
    s.add(InstanceMigrationCase(migration_id=run.id, instance_id=inst.id, business_key=inst.business_key,
                                status="migrated", previous_state=previous[0], previous_projection=previous[1],
                                previous_version_id=previous[2], migrated_digest=state_digest(inst.state)))
    run.migrated += 1


def _revert(runtime: Runtime, migration_id: int, progress: Progress | None, batch_size: int) -> str:
    with runtime.db.session() as s:
        run = _locked_run(s, migration_id)
        run.status, run.processed = "reverting", 0  # reverted and kept add up over a retried revert
        actor, target_id = run.revert_actor, run.target_version_id
    last = 0
    while True:
        post = _Advance()
        with runtime.db.session() as s:
            run = _locked_run(s, migration_id)
            cases = list(s.scalars(
                select(InstanceMigrationCase)
                .where(InstanceMigrationCase.migration_id == migration_id, InstanceMigrationCase.status == "migrated",
                       InstanceMigrationCase.instance_id > last)
                .order_by(InstanceMigrationCase.instance_id).limit(batch_size)))
            if not cases:
                run.status, run.finished_at = "reverted", utcnow()
                journal.record(s, None, "migration_reverted", actor=actor, message=_label(run),
                               details={"migration_id": run.id, "reverted": run.reverted, "kept": run.kept})
                break
            locked = {inst.id: inst for inst in s.scalars(
                select(ProcessInstance).where(ProcessInstance.id.in_([c.instance_id for c in cases]))
                .order_by(ProcessInstance.id).with_for_update())}
            for case in cases:
                _revert_one(runtime, s, run, case, locked[case.instance_id], target_id, actor, post)
            run.processed += len(cases)
            last = cases[-1].instance_id
        runtime._after_commit(post)
        if progress is not None:
            progress(run)
    return run.status


def _revert_one(runtime: Runtime, s: Session, run: InstanceMigration, case: InstanceMigrationCase,
                inst: ProcessInstance, target_id: int, actor: str | None, post: _Advance) -> None:
    if inst.version_id != target_id or state_digest(inst.state) != case.migrated_digest:
        case.status = "moved_on"  # it went on after the move: reverting would throw that work away
        run.kept += 1
        return
    wf = runtime.serializer.load_state(case.previous_state, runtime.specs.bundle(s, case.previous_version_id))
    wf.script_engine = runtime.script_engine
    inst.version_id = case.previous_version_id
    with unit_of_work() as uow:
        runtime._save(s, inst, wf, uow, actor, post)
    journal.record(s, inst.id, "migration_reverted", actor=actor,
                   message=f"v{run.target_version} -> v{run.source_version}",
                   details={"migration_id": run.id, "process_id": run.process_id,
                            "from_version": run.target_version, "to_version": run.source_version})
    case.status = "reverted"
    run.reverted += 1
