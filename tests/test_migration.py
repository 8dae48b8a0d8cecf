"""Moving running cases to another version: dry run, batch migration by a real worker, revert.

Version 2 of the test diagram (tests/support/migration.py) renames «Вторая проверка» and adds a script
task before the end: the cases still at «Первая проверка» may move (every change is ahead of them), the
case at «Вторая проверка» may not (its element changed). The moved cases then finish on version 2's path,
and a revert puts back those that did not move on since.
"""

from __future__ import annotations

import getpass
import uuid

import pytest

from engine.control import InstanceControl
from engine.deploy import Source
from engine.diagram_layout import layout_bpmn
from engine.migration_runs import create_run, dry_run, execute, get_run
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, csrf_token, login
from tests.support.backend import wait_for
from tests.support.migration import (
    PROCESS,
    SECOND_V2,
    WORKFLOWS,
    _v1,
    complete,
    deploy_v1,
    deployer,
    instance_row,
    journal_rows,
    staff_token,
    timers,
    two_versions,
    version_id,
)
from tests.support.queries import calls, open_task


def _progress(client, token: str, url: str, status: str) -> dict:
    def reached() -> dict | None:
        body = client.get(url, headers=bearer(token)).get_json()
        assert body["status"] != "failed", body
        return body if body["status"] == status else None

    return wait_for(reached, timeout=90, message=f"migration to be {status}")


def test_dry_run_then_batch_migration_by_a_worker_then_revert(backend, cluster, make_app) -> None:
    services = backend.services
    app = make_app()
    versions, cases = two_versions(services)
    key = {name: instance_row(services, iid).business_key for name, iid in cases.items()}
    old_id, new_id = version_id(services, versions.old), version_id(services, versions.new)
    due_before = timers(services, cases["first_a"])
    task_before = open_task(services, cases["first_a"], "first").id
    client, token = client_from(app), staff_token(app, "supervisor")
    request = {"process": PROCESS, "from": versions.old, "to": versions.new}

    dry = client.post("/api/v1/migrations", json={**request, "dry_run": True}, headers=bearer(token))
    assert dry.status_code == 200, dry.get_json()
    body = dry.get_json()
    assert body["movable"] == [key["first_a"], key["first_b"]]
    assert body["blocked"] == [{"case": key["second"], "code": "changed", "element_id": "second",
                                "reason": "элемент «Вторая проверка», на котором стоит дело, изменён (название)"}]
    assert instance_row(services, cases["first_a"]).version_id == old_id  # a dry run moves nothing

    cluster.worker()
    started = client.post("/api/v1/migrations", json=request, headers=bearer(token))
    assert started.status_code == 202, started.get_json()
    run = _progress(client, token, started.get_json()["progress_url"], "done")
    assert (run["total"], run["processed"], run["migrated"], run["blocked"]) == (3, 3, 2, 1)
    assert {(c["case"], c["status"]) for c in run["cases"]} == {
        (key["first_a"], "migrated"), (key["first_b"], "migrated"), (key["second"], "blocked")}

    assert [instance_row(services, cases[n]).version_id for n in ("first_a", "first_b", "second")] \
        == [new_id, new_id, old_id]
    assert timers(services, cases["first_a"]) == due_before  # the unchanged SLA timer keeps its due time
    assert open_task(services, cases["first_a"], "first").id == task_before  # the same task in the inbox
    [row] = journal_rows(services, cases["first_a"], "migrated")
    assert row.details["from_version"] == versions.old and row.details["to_version"] == versions.new
    assert row.actor.startswith("supervisor")

    # first_b moves on and finishes on version 2's path (the renamed task, the new script, the new status).
    complete(services, cases["first_b"], "first")
    assert open_task(services, cases["first_b"], "second").title == SECOND_V2
    complete(services, cases["first_b"], "second")
    assert services.runtime.instance(cases["first_b"]).status == versions.new_status
    assert services.runtime.workflow_data(cases["first_b"])["path"] == "v2"

    reverted = client.post(f"/api/v1/migrations/{run['id']}/revert", json={}, headers=bearer(token))
    assert reverted.status_code == 202, reverted.get_json()
    run = _progress(client, token, reverted.get_json()["progress_url"], "reverted")
    assert (run["reverted"], run["kept"]) == (1, 1)
    assert {(c["case"], c["status"]) for c in run["cases"]} == {
        (key["first_a"], "reverted"), (key["first_b"], "moved_on"), (key["second"], "blocked")}
    assert instance_row(services, cases["first_a"]).version_id == old_id
    assert instance_row(services, cases["first_b"]).version_id == new_id  # its work is not thrown away
    assert timers(services, cases["first_a"]) == due_before
    assert journal_rows(services, cases["first_a"], "migration_reverted")[0].actor.startswith("supervisor")
    again = client.post(f"/api/v1/migrations/{run['id']}/revert", json={}, headers=bearer(token))
    assert again.status_code == 409

    for name in ("first_a", "second"):  # both end on version 1's path
        if name == "first_a":
            complete(services, cases[name], "first")
        assert open_task(services, cases[name], "second").title == "Вторая проверка"
        complete(services, cases[name], "second")
        assert services.runtime.instance(cases[name]).status == versions.old_status


def test_removed_elements_and_bad_requests(backend, make_app) -> None:
    services = backend.services
    app = make_app()
    old, _, tag = deploy_v1(services)
    at_first = services.runtime.start(PROCESS, {}, business_key=f"R-{tag}-1").id
    at_second = services.runtime.start(PROCESS, {}, business_key=f"R-{tag}-2").id
    complete(services, at_second, "first")
    # Version 2 drops «Первая проверка» with its timer: the cases standing there cannot move; the case
    # that passed it cannot either (its history names an element the new version does not have).
    text = _v1(f"r_{tag}")
    for cut in ('    <bpmn:userTask id="first" name="Первая проверка" />\n',
                "        <bpmn:flowNodeRef>first</bpmn:flowNodeRef>\n",
                "        <bpmn:flowNodeRef>first_sla</bpmn:flowNodeRef>\n",
                '    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second" />\n'):
        assert cut in text
        text = text.replace(cut, "")
    start = text.index('    <bpmn:boundaryEvent id="first_sla"')
    end = text.index('<bpmn:sequenceFlow id="f_late"')
    text = text[:start] + text[end:]
    text = text.replace('targetRef="first"', 'targetRef="second"').replace(
        '<bpmn:sequenceFlow id="f_late" sourceRef="first_sla" targetRef="end_late" />\n', "").replace(
        '<bpmn:endEvent id="end_late" name="Просрочено" />\n', "").replace(
        "        <bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>\n", "")
    deployer(services).deploy([Source("migrating.bpmn", layout_bpmn(text.encode()), WORKFLOWS)], actor="analyst")

    client, token = client_from(app), staff_token(app, "admin")
    body = client.post("/api/v1/migrations", json={"process": PROCESS, "from": old, "to": old + 1, "dry_run": True},
                       headers=bearer(token)).get_json()
    assert body["movable"] == []
    assert body["blocked"] == [
        {"case": f"R-{tag}-1", "code": "removed", "element_id": "first",
         "reason": "элемент «Первая проверка», на котором стоит дело, удалён в новой версии"},
        {"case": f"R-{tag}-2", "code": "history_removed", "element_id": "first",
         "reason": "пройденный делом элемент «Первая проверка» удалён в новой версии"}]

    def post(payload: dict) -> tuple[int, dict]:
        r = client.post("/api/v1/migrations", json=payload, headers=bearer(token))
        return r.status_code, r.get_json()

    status, err = post({"process": PROCESS, "from": old, "to": old, "dry_run": True})
    assert status == 422 and err["error"]["fields"][0]["field"] == "to"
    status, err = post({"process": PROCESS, "from": "x", "dry_run": True})
    assert status == 422 and {f["field"] for f in err["error"]["fields"]} == {"from", "to"}
    status, err = post({"process": PROCESS, "from": old, "to": 999, "dry_run": True})
    assert status == 404 and err["error"]["message"] == f"у процесса «{PROCESS}» нет версии 999"
    assert client.get("/api/v1/migrations/999999", headers=bearer(token)).status_code == 404
    assert instance_row(services, at_first).version_id == version_id(services, old)


def test_cli_migrates_and_reverts_as_the_os_user(backend) -> None:
    services = backend.services
    versions, cases = two_versions(services)
    args = ("instances", "migrate", "--process", PROCESS, "--from", str(versions.old), "--to", str(versions.new))
    key = {name: instance_row(services, iid).business_key for name, iid in cases.items()}

    dry = backend.backoffice(*args, "--dry-run")
    assert f"{key['first_a']}: movable" in dry.stdout.splitlines()
    assert f"{key['second']}: blocked: элемент «Вторая проверка», на котором стоит дело, изменён (название)" \
        in dry.stdout.splitlines()
    assert dry.stdout.splitlines()[-1] == f"{PROCESS} v{versions.old} -> v{versions.new}: 2 movable, 1 blocked"
    assert instance_row(services, cases["first_a"]).version_id == version_id(services, versions.old)

    moved = backend.backoffice(*args)
    migration_id = int(moved.stdout.splitlines()[0].split()[1].rstrip(":"))
    assert moved.stdout.splitlines()[-2] == f"migration {migration_id}: done"
    assert instance_row(services, cases["first_b"]).version_id == version_id(services, versions.new)
    [row] = journal_rows(services, cases["first_b"], "migrated")
    assert row.actor == f"os:{getpass.getuser()}"

    back = backend.backoffice("instances", "revert-migration", str(migration_id))
    assert back.stdout.splitlines()[-1] == f"migration {migration_id}: reverted"
    assert instance_row(services, cases["first_b"]).version_id == version_id(services, versions.old)
    with services.database.session() as s:
        run = get_run(s, migration_id)
        assert (run.migrated, run.reverted, run.kept, run.revert_actor) == (2, 2, 0, f"os:{getpass.getuser()}")
    refused = backend.backoffice("instances", "revert-migration", str(migration_id), check=False)
    assert refused.returncode == 1
    unknown = backend.backoffice("instances", "migrate", "--process", PROCESS, "--from", "1", "--to", "999",
                                 check=False)
    assert unknown.returncode == 1 and "нет версии 999" in unknown.stderr


NEW_ROUTES = [("GET", "/migrations"), ("POST", "/migrations"), ("GET", "/migrations/1"),
              ("POST", "/migrations/1/revert"), ("POST", "/api/v1/migrations"), ("GET", "/api/v1/migrations/1"),
              ("POST", "/api/v1/migrations/1/revert")]


def test_every_new_route_is_listed_here(make_app) -> None:
    app = make_app()
    found = {(m, r.rule.replace("<int:migration_id>", "1")) for r in app.url_map.iter_rules()
             if r.endpoint.split(".")[0] in ("migrations", "migrations_api") for m in r.methods - {"HEAD", "OPTIONS"}}
    assert found == set(NEW_ROUTES)


@pytest.mark.parametrize("role", ["citizen", "operator"])
def test_citizens_and_operators_get_403(backend, make_app, role) -> None:
    app = make_app()
    client = client_from(app)
    if role == "operator":
        token = staff_token(app, role)
    else:
        r = client.post("/api/v1/auth/token", json={"email": add_user(app, role), "password": PASSWORD})
        token = r.get_json()["token"]
    pages = client_from(app)
    assert login(pages, add_user(app, role)).status_code == 302
    form_token = csrf_token(pages.get("/", follow_redirects=True).get_data(as_text=True))
    for method, url in NEW_ROUTES:
        if url.startswith("/api/"):
            r = client.open(url, method=method, json={"process": PROCESS, "from": 1, "to": 2}, headers=bearer(token))
        else:
            r = pages.open(url, method=method, data={"csrf_token": form_token} if method == "POST" else None)
        assert r.status_code == 403, (role, method, url, r.status_code)
    assert client_from(app).post("/api/v1/migrations", json={}).status_code == 401


def test_analysts_may_look_at_a_dry_run_but_not_migrate(backend, make_app) -> None:
    services = backend.services
    app = make_app()
    versions, _ = two_versions(services)
    client, token = client_from(app), staff_token(app, "analyst")
    request = {"process": PROCESS, "from": versions.old, "to": versions.new}
    dry = client.post("/api/v1/migrations", json={**request, "dry_run": True}, headers=bearer(token))
    assert dry.status_code == 200 and len(dry.get_json()["movable"]) == 2
    assert client.post("/api/v1/migrations", json=request, headers=bearer(token)).status_code == 403


def test_a_case_waiting_for_a_service_call_moves_and_takes_the_element_inserted_after_it(backend, cluster) -> None:
    """The call in flight is not reset (no second call); when its result comes, the case goes on along the
    new version's path, through the script task version 2 inserted right after the call."""
    services = backend.services
    pid = f"mig_service_{uuid.uuid4().hex[:6]}"
    base = (WORKFLOWS / "engine_demo.bpmn").read_text(encoding="utf-8").replace(
        'id="engine_demo" name="Engine demo"', f'id="{pid}" name="Migrating service"')
    v2 = base.replace('<bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="mark" />',
                      '<bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="inserted" />\n'
                      '    <bpmn:scriptTask id="inserted" name="Новый шаг">\n'
                      '      <bpmn:script>set_status("inserted")</bpmn:script>\n'
                      '    </bpmn:scriptTask>\n'
                      '    <bpmn:sequenceFlow id="f2b" sourceRef="inserted" targetRef="mark" />').replace(
        "<bpmn:flowNodeRef>mark</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>inserted</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>mark</bpmn:flowNodeRef>")
    deploy = deployer(services).deploy
    deploy([Source(f"{pid}.bpmn", base.encode(), WORKFLOWS)], actor="analyst")
    info = services.runtime.start(pid, {"applicant": "Иванов", "mode": "ok", "review_sla": "demo_review"},
                                  business_key=f"S-{pid}")
    [call] = calls(services, info.id)
    assert call.status == "queued"  # no worker yet: the case waits for the call
    deploy([Source(f"{pid}.bpmn", layout_bpmn(v2.encode()), WORKFLOWS)], actor="analyst")

    verdicts = dry_run(services.runtime, pid, 1, 2, "test")
    assert [(v.instance_id, v.obstacle) for v in verdicts] == [(info.id, None)]
    assert execute(services.runtime, create_run(services.runtime, pid, 1, 2, "test")) == "done"

    cluster.worker()
    wait_for(lambda: open_task(services, info.id, "review"), message="review task after the call")
    assert [c.status for c in calls(services, info.id)] == ["done"]  # the one call, not a second one
    statuses = [r.message for r in journal_rows(services, info.id, "status_changed")]
    assert statuses == ["inserted", "in_review"]


def test_a_suspended_case_is_not_moved_until_it_is_resumed(backend) -> None:
    """A supervisor froze the case: a migration lists it as blocked and leaves it as it is; resumed, it moves."""
    services = backend.services
    versions, cases = two_versions(services)
    control = InstanceControl(services.runtime)
    control.suspend(cases["first_a"], "supervisor:test", "проверка жалобы")
    verdicts = {v.instance_id: v for v in dry_run(services.runtime, PROCESS, versions.old, versions.new, "test")}
    assert verdicts[cases["first_a"]].obstacle.code == "suspended"
    assert "приостановлено" in verdicts[cases["first_a"]].obstacle.message
    assert verdicts[cases["first_b"]].movable

    run = create_run(services.runtime, PROCESS, versions.old, versions.new, "test")
    assert execute(services.runtime, run) == "done"
    assert instance_row(services, cases["first_a"]).version_id == version_id(services, versions.old)
    assert instance_row(services, cases["first_b"]).version_id == version_id(services, versions.new)

    control.resume(cases["first_a"], "supervisor:test", "проверено")
    verdicts = {v.instance_id: v for v in dry_run(services.runtime, PROCESS, versions.old, versions.new, "test")}
    assert verdicts[cases["first_a"]].movable
