"""The test diagram for instance migration in two versions, and cases stopped at chosen points.

Version 1 (`tests/workflows/migrating.bpmn`): «Первая проверка» (with an SLA timer) -> «Вторая проверка»
-> a script that sets the status. Version 2 renames «Вторая проверка» (a change at the position of the
cases waiting there), inserts a script task before the end and sets another status (changes ahead of the
cases still at «Первая проверка»). Each call deploys new versions (the statuses carry a fresh tag), so
tests sharing a backend never share a version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from engine.context import Services
from engine.deploy import Deployer, Source
from engine.diagram_layout import layout_bpmn
from engine.migration_models import InstanceMigrationCase
from engine.models import JournalEntry, ProcessInstance, ProcessVersion, Timer
from tests.support.accounts import PASSWORD, add_user, client_from, fresh_otp
from tests.support.queries import open_task

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
PROCESS = "migrating"
SECOND_V2 = "Вторая проверка, новая редакция"


@dataclass(frozen=True)
class Versions:
    old: int
    new: int
    old_status: str
    new_status: str


def _v1(status: str) -> str:
    return (WORKFLOWS / "migrating.bpmn").read_text(encoding="utf-8").replace('"v1_done"', f'"{status}"')


def _v2(status: str) -> bytes:
    text = _v1(status).replace('name="Вторая проверка"', f'name="{SECOND_V2}"')
    text = text.replace('<bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="finish" />',
                        '<bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="note" />\n'
                        '    <bpmn:scriptTask id="note" name="Отметка новой версии">\n'
                        '      <bpmn:script>path = "v2"</bpmn:script>\n'
                        '    </bpmn:scriptTask>\n'
                        '    <bpmn:sequenceFlow id="f3b" sourceRef="note" targetRef="finish" />')
    finish_ref = "<bpmn:flowNodeRef>finish</bpmn:flowNodeRef>"
    text = text.replace(finish_ref, f"<bpmn:flowNodeRef>note</bpmn:flowNodeRef>\n        {finish_ref}")
    return layout_bpmn(text.encode("utf-8"))


def deployer(services: Services) -> Deployer:
    return Deployer(services.database, services.script_env, services.settings.forms_dirs,
                    sla_names=services.sla.names())


def deploy_v1(services: Services) -> tuple[int, str, str]:
    """Deploy a fresh version 1; (its number, the status it ends with, the tag for version 2)."""
    tag = uuid.uuid4().hex[:6]
    status = f"v1_{tag}"
    done = deployer(services).deploy([Source("migrating.bpmn", _v1(status).encode("utf-8"), WORKFLOWS)],
                                     actor="analyst")[0]
    return done.version, status, tag


def deploy_v2(services: Services, tag: str) -> bytes:
    """Deploy version 2 of the same tag (a new version; new cases start on it); the file deployed."""
    content = _v2(f"v2_{tag}")
    deployer(services).deploy([Source("migrating.bpmn", content, WORKFLOWS)], actor="analyst")
    return content


def two_versions(services: Services) -> tuple[Versions, dict[str, int]]:
    """Version 1 with three running cases (two at «Первая проверка», one at «Вторая проверка») and one
    finished, then version 2; the version numbers and the cases by name."""
    rt = services.runtime
    old, old_status, tag = deploy_v1(services)
    cases = {name: rt.start(PROCESS, {}, business_key=f"M-{tag}-{name}").id
             for name in ("first_a", "first_b", "second", "finished")}
    complete(services, cases["second"], "first")
    complete(services, cases["finished"], "first")
    complete(services, cases["finished"], "second")
    deploy_v2(services, tag)
    return Versions(old, old + 1, old_status, f"v2_{tag}"), cases


def complete(services: Services, instance_id: int, spec_name: str) -> None:
    task = open_task(services, instance_id, spec_name)
    assert task is not None, f"instance {instance_id} does not wait at {spec_name}"
    services.runtime.complete_user_task(task.id, {}, "operator-1")


def staff_token(app: Flask, role: str) -> str:
    """A Bearer token of a new staff member of `role` (password and a fresh TOTP code, as API clients log in)."""
    email = add_user(app, role)
    r = client_from(app).post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def instance_row(services: Services, instance_id: int) -> ProcessInstance:
    with services.database.session() as s:
        return s.get(ProcessInstance, instance_id)


def case_outcomes(services: Services, migration_id: int) -> dict[str | None, str]:
    """What a migration run stored per case: business key -> its outcome (migrated, blocked, ...)."""
    with services.database.session() as s:
        return dict(s.execute(select(InstanceMigrationCase.business_key, InstanceMigrationCase.status)
                              .where(InstanceMigrationCase.migration_id == migration_id)).tuples().all())


def version_id(services: Services, number: int) -> int:
    with services.database.session() as s:
        return s.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == PROCESS,
                                                        ProcessVersion.version == number))


def timers(services: Services, instance_id: int) -> list[tuple[str, object]]:
    with services.database.session() as s:
        return [(t.task_spec, t.due_at) for t in s.scalars(select(Timer).where(Timer.instance_id == instance_id))]


def journal_rows(services: Services, instance_id: int, event: str) -> list[JournalEntry]:
    with services.database.session() as s:
        return list(s.scalars(select(JournalEntry).where(JournalEntry.instance_id == instance_id,
                                                         JournalEntry.event == event).order_by(JournalEntry.id)))
