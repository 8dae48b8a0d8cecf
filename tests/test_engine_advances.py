"""How often the engine restores, steps and saves an instance, and how often it restores a spec.

An instance is restored from its stored state once per event that reaches it: results that arrive
together (the calls one save created run in one job) are applied in one restore, step and save, and a
job that runs the next service task of the same instance inline keeps the workflow it has just saved
instead of restoring it again. Each deployed version's spec is restored once per process.
With real worker processes (tests/workflows/service_chain.bpmn) and the real product (a certificate).
"""

from __future__ import annotations

import json
import threading
import uuid

from sqlalchemy import distinct, func, select, update

from engine import advances
from engine.models import ProcessInstance, ServiceCall
from engine.runtime import Runtime, ServiceOutcome
from engine.warm import WarmWorkflows
from tests.support.backend import wait_for
from tests.support.product import Product
from tests.support.queries import calls
from web.extensions import db


def _key() -> str:
    return f"ADV-{uuid.uuid4().hex[:8]}"


def _counts(database, instance_id: int) -> dict[str, int]:
    with database.session() as s:
        return advances.of(s.get(ProcessInstance, instance_id).projection)


def test_a_chain_run_in_one_job_restores_the_instance_once(backend, cluster):
    rt = backend.services.runtime
    info = rt.start("service_chain", {"start_key": "a"}, business_key=_key())
    assert _counts(backend.services.database, info.id) == {"saves": 1, "restores": 0}
    cluster.worker()
    wait_for(lambda: rt.instance(info.id).completed, timeout=120, message="the chain to complete")
    # Three results, each one event: three saves after the start's, and one restore for the job.
    assert _counts(backend.services.database, info.id) == {"saves": 4, "restores": 1}
    assert len({c.job_id for c in calls(backend.services, info.id)}) == 1
    assert rt.workflow_data(info.id)["third"] == {"found": True, "key": "abc"}


def test_a_kept_workflow_is_not_used_once_another_writer_changed_the_instance(backend):
    rt = Runtime(backend.services.database, None)
    info = rt.start("service_chain", {"start_key": "x"}, business_key=_key())
    warm = WarmWorkflows()

    def apply_queued() -> None:
        call = next(c for c in calls(backend.services, info.id) if c.status == "queued")
        rt.apply_service_outcomes(info.id, [ServiceOutcome(call.id, True, result={"key": call.params["key"]},
                                                           task_guid=call.task_guid)], warm=warm)

    apply_queued()
    assert _counts(backend.services.database, info.id) == {"saves": 2, "restores": 1} and len(warm) == 1
    apply_queued()  # the row holds what this job saved: the kept workflow goes on
    assert _counts(backend.services.database, info.id) == {"saves": 3, "restores": 1}
    with backend.services.database.session() as s:  # the same content written by someone else
        state = s.scalar(select(ProcessInstance.state).where(ProcessInstance.id == info.id))
        s.execute(update(ProcessInstance).where(ProcessInstance.id == info.id)
                  .values(state=json.dumps(json.loads(state), indent=1)))
    apply_queued()
    assert _counts(backend.services.database, info.id) == {"saves": 4, "restores": 2}
    assert rt.instance(info.id).completed and len(warm) == 0  # a finished instance is not kept
    assert rt.workflow_data(info.id)["third"] == {"key": "xbc"}


def test_a_result_reads_the_same_in_a_kept_workflow_as_after_a_restore(backend):
    rt = Runtime(backend.services.database, None)
    info = rt.start("service_chain", {"start_key": "t"}, business_key=_key())
    warm = WarmWorkflows()
    call = calls(backend.services, info.id)[0]
    # A tuple and a number as key: the stored state holds a list and text, so must the kept workflow.
    result = {"key": "t", "pair": (1, 2), 7: "seven"}
    rt.apply_service_outcomes(info.id, [ServiceOutcome(call.id, True, result=result, task_guid=call.task_guid)],
                              warm=warm)
    with backend.services.database.session() as s:
        inst = s.get(ProcessInstance, info.id)
        kept = warm.take(info.id, inst.state)
        restored = rt.serializer.load_state(inst.state, rt.specs.bundle(s, info.version_id))
    assert kept is not None
    first = next(t for t in kept.get_tasks() if t.task_spec.name == "first")
    again = next(t for t in restored.get_tasks() if t.task_spec.name == "first")
    assert first.data["first"] == again.data["first"] == {"key": "t", "pair": [1, 2], "7": "seven"}


def test_each_version_spec_is_restored_once_per_process(backend):
    rt = Runtime(backend.services.database, None)  # a process's runtime, with a cache of its own
    infos = [rt.start("service_chain", {"start_key": str(i)}, business_key=_key()) for i in range(3)]
    version = infos[0].version_id
    errors: list[BaseException] = []

    def advance(instance_id: int) -> None:
        try:
            call = next(c for c in calls(backend.services, instance_id) if c.status == "queued")
            rt.apply_service_outcomes(instance_id, [ServiceOutcome(call.id, True, result={"key": "k"},
                                                                   task_guid=call.task_guid)])
            rt.workflow_data(instance_id)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=advance, args=(i.id,)) for i in infos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _counts(backend.services.database, infos[0].id) == {"saves": 2, "restores": 1}
    assert rt.specs.restored == {version: 1}


def test_a_certificate_case_is_restored_once_per_job(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "valid")["number"]
    product.wait_status(token, number, "ready")
    with product.app.app_context():
        def finished() -> ProcessInstance | None:
            inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number)
                                     .execution_options(populate_existing=True))
            db.session.rollback()
            return inst if inst is not None and inst.completed else None

        inst = wait_for(finished, message=f"case {number} to complete")
        jobs = db.session.scalar(select(func.count(distinct(ServiceCall.job_id)))
                                 .where(ServiceCall.instance_id == inst.id))
        counts = advances.of(inst.projection)
    # Submission, then the registries' three answers with the submission notice (one event: they were
    # called together), the certificate and the notice that it is ready: four saves. The answers come
    # in one job that runs the certificate and the notice inline, so the state is restored once.
    assert jobs == 1
    assert counts == {"saves": 4, "restores": 1}
