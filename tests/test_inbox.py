"""Staff inbox: the SLA rule, the filters, the queue queries (both backends) and the task API end to end."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import journal
from engine.models import HumanTask, ProcessInstance, ProcessVersion
from engine.sla_state import AT_RISK, ON_TIME, OVERDUE, SLA_STATES, sla_condition, sla_state
from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tasks.inbox import queries
from tasks.inbox.filters import InvalidFilter, TaskFilter, parse_filter, parse_search
from tasks.inbox.queries import count_since, list_tasks, masked_applicant, queue_stats
from tests.support.accounts import add_user, bearer, login
from tests.support.backend import Backend
from tests.support.pdf import SCAN_PDF
from tests.support.product import Product
from web.extensions import db

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


# ---------------------------------------------------------------------- the SLA rule
@pytest.mark.parametrize(("created", "due", "state"), [
    (NOW - 1 * H, NOW - timedelta(seconds=1), OVERDUE),
    (NOW - 10 * H, NOW + 5 * H, ON_TIME),          # 5 of 15 h left: a third, and more than 4 h
    (NOW - 10 * H, NOW + 3 * H, AT_RISK),          # under 4 h left
    (NOW - 100 * H, NOW + 20 * H, AT_RISK),        # 20 of 120 h: under a quarter, though far more than 4 h
    (NOW - 60 * H, NOW + 20 * H, ON_TIME),         # 20 of 80 h: exactly a quarter is not yet «under»
    (NOW - 61 * H, NOW + 20 * H, AT_RISK),         # 20 of 81 h
    (NOW - 1 * H, None, ON_TIME),                  # no deadline
])
def test_sla_state_rule(created: datetime, due: datetime | None, state: str) -> None:
    assert sla_state(created, due, NOW) == state


def test_filters_parse_and_report_every_bad_value_in_russian() -> None:
    f = parse_filter({"queue": "mine", "sla": "at_risk", "due_from": "01.03.2026", "due_to": "2026-03-31",
                      "status": "completed", "sort": "-received", "page": "3", "q": " Иванов  Сергей "}, "operator")
    assert (f.queue, f.sla, f.status, f.sort) == ("mine", "at_risk", "completed", "-received")
    assert (f.offset, f.limit, f.page) == (100, 50, 3)
    assert f.due_from.isoformat() == "2026-03-01" and f.q == "Иванов Сергей"
    start, end = f.due_bounds()
    assert start == datetime(2026, 2, 28, 21, 0, tzinfo=UTC) and end == datetime(2026, 3, 31, 21, 0, tzinfo=UTC)
    assert "due_from=01.03.2026" in f.query_string() and "page=3" in f.query_string()
    with pytest.raises(InvalidFilter) as caught:
        parse_filter({"queue": "all", "sla": "late", "due_from": "31.02.2026", "status": "x", "sort": "name",
                      "limit": "0", "role": "boss"}, "operator")
    fields = {e.field: e.message for e in caught.value.fields}
    assert set(fields) == {"queue", "sla", "due_from", "status", "sort", "limit", "role"}
    assert fields["queue"] == "Очередь «Все» доступна только руководителю и администратору"
    assert fields["due_from"] == "Введите дату в формате ДД.ММ.ГГГГ"
    with pytest.raises(InvalidFilter):
        parse_filter({"due_from": "10.03.2026", "due_to": "01.03.2026"}, "supervisor")
    assert parse_filter({"queue": "all"}, "supervisor").queue == "all"


def test_search_kinds() -> None:
    assert parse_search("112-233-445 95").kind == "snils" and parse_search("112-233-445 95").value == "11223344595"
    assert parse_search("2026-000123").kind == "number" and parse_search("2026-0001").kind == "number"
    assert parse_search("Королёв С").value == "королев с"


def test_masked_applicant() -> None:
    person = {"applicant": "individual", "person": {"last_name": "Иванов", "first_name": "Сергей",
                                                    "middle_name": "Петрович"}}
    assert masked_applicant(person) == "Иванов С. П."
    assert masked_applicant({"applicant": "organization", "organization": {"name": "ООО «Ромашка»"}}) == "ООО «Ромашка»"
    assert masked_applicant(None) is None


# ---------------------------------------------------------------------- queries on both backends
def _seed(backend: Backend, spec: str, tasks: list[dict]) -> dict[str, int]:
    """A version, one instance + application per task, and the tasks; returns business key -> task id."""
    ids = {}
    with backend.services.database.session() as s:
        owner = User(email=f"{uuid.uuid4().hex[:10]}@example.ru", password_hash="x", role="citizen",
                     is_active=True, created_at=NOW)
        version = ProcessVersion(process_id=f"p_{spec}", version=1, name=spec, sha256=uuid.uuid4().hex, sources={},
                                 spec_json="", forms={}, deployed_at=NOW)
        s.add_all([owner, version])
        s.flush()
        for t in tasks:
            key = t["key"]
            inst = ProcessInstance(process_id=version.process_id, version_id=version.id, business_key=key,
                                   status="in_progress", completed=False, state="", projection={}, created_at=NOW,
                                   updated_at=NOW)
            s.add(inst)
            s.flush()
            person = {"last_name": t.get("last", "Иванов"), "first_name": "Сергей", "middle_name": "Петрович",
                      "snils": t.get("snils")}
            s.add(Application(number=key, attempt=1, applicant="individual", owner_id=owner.id, process_id="p",
                              instance_id=inst.id, data={"applicant": "individual", "person": person},
                              search_name=f"{person['last_name'].lower()} сергей петрович", snils=t.get("snils"),
                              submitted_at=NOW, updated_at=NOW))
            task = HumanTask(instance_id=inst.id, task_guid=str(uuid.uuid4()), spec_name=spec, title="Проверка",
                             lane="Оператор", role=t.get("role", "operator"), created_at=t["created"],
                             due_at=t.get("due"), assignee=t.get("assignee"), status=t.get("status", "open"),
                             completed_by=t.get("completed_by"))
            s.add(task)
            s.flush()
            ids[key] = task.id
    return ids


def test_queue_queries_filter_sort_page_and_search(backend: Backend) -> None:
    spec = f"t_{uuid.uuid4().hex[:8]}"
    prefix = f"1999-{uuid.uuid4().int % 90000 + 10000}"  # + one digit: 11 characters, like 2026-000123
    grid = [  # (created, due) over the SLA rule; due order: a c d b e f
        ("a", NOW - 1 * H, NOW - 1 * H), ("b", NOW - 100 * H, NOW + 20 * H), ("c", NOW - 10 * H, NOW + 3 * H),
        ("d", NOW - 10 * H, NOW + 5 * H), ("e", NOW - 59 * H, NOW + 20 * H), ("f", NOW - 2 * H, None),
    ]
    rows = [{"key": f"{prefix}{i}", "created": c, "due": d} for i, (_, c, d) in enumerate(grid)]
    rows[0].update(assignee="user:7", snils="11223344595", last="Королев")
    rows.append({"key": f"{prefix}6", "created": NOW - 5 * H, "due": NOW + 1 * H, "role": "appeals"})
    rows.append({"key": f"{prefix}7", "created": NOW - 5 * H, "due": NOW, "status": "completed",
                 "completed_by": "user:7"})
    ids = _seed(backend, spec, rows)
    key = {"abcdefgh"[int(k[-1])]: v for k, v in ids.items()}
    with backend.services.database.session() as s:
        def listed(me: str = "operator", actor: str = "user:1", **args: str) -> list[int]:
            page = list_tasks(s, parse_filter({"task": spec, **args}, me), me, actor, NOW)
            return [t["id"] for t in page.items]

        assert listed() == [key[c] for c in "acdbef"]  # due ascending (ties by id), no due date last
        assert listed(sort="-due") == [key[c] for c in "febdca"]  # no due date = due last: first here
        assert listed(sort="received") == [key[c] for c in "becdfa"]
        # The SQL predicate says what the Python rule says, row by row.
        states = {k: sla_state(c, d, NOW) for k, c, d in grid}
        assert states == {"a": OVERDUE, "b": AT_RISK, "c": AT_RISK, "d": ON_TIME, "e": ON_TIME, "f": ON_TIME}
        for state in SLA_STATES:
            assert listed(sla=state) == [key[c] for c in "acdbef" if states[c] == state], state
        assert listed(queue="mine", actor="user:7") == [key["a"]]
        assert listed(queue="mine", actor="user:7", status="completed") == [key["h"]]
        assert listed(me="appeals") == [key["g"]]
        assert listed(me="supervisor", queue="all") == [key[c] for c in "agcdbef"]
        assert listed(me="supervisor", queue="all", role="appeals") == [key["g"]]
        assert listed(q="112-233-445 95") == [key["a"]]
        assert listed(q="королев") == [key["a"]] and listed(q="Королёв С") == [key["a"]]
        assert listed(q=rows[2]["key"]) == [key["c"]]
        assert listed(due_from="11.03.2026") == [key[c] for c in "be"]  # 05:00 UTC on the 11th: the 11th in Moscow
        assert listed(due_from="10.03.2026", due_to="10.03.2026") == [key[c] for c in "acd"]
        page = list_tasks(s, parse_filter({"task": spec, "limit": "2", "page": "2"}, "operator"), "operator",
                          "user:1", NOW)
        assert [t["id"] for t in page.items] == [key["d"], key["b"]] and page.total == 6
        second = page.items[1]
        assert second["applicant"] == "Иванов С. П."
        assert second["sla"] == AT_RISK and second["sla_label"] == "Под угрозой"
        f = parse_filter({"task": spec}, "operator")
        total, newest = queue_stats(s, f, "operator", "user:1", NOW)
        assert total == 6 and newest >= max(key.values())  # the table's newest id: later tasks are above it
        # Counting stops past TOTAL_CAP rows after the page's offset: «более N».
        original = queries.TOTAL_CAP
        queries.TOTAL_CAP = 4
        try:
            capped = list_tasks(s, parse_filter({"task": spec, "limit": "2"}, "operator"), "operator", "user:1", NOW)
            assert capped.total_capped and capped.as_json()["total"] == 4 and capped.as_json()["total_capped"]
            later = list_tasks(s, parse_filter({"task": spec, "limit": "2", "page": "2"}, "operator"), "operator",
                               "user:1", NOW)
            assert later.total == 6 and not later.total_capped  # offset 2 + the 4 rows left
        finally:
            queries.TOTAL_CAP = original
        assert count_since(s, f, "operator", "user:1", key["c"], NOW) == 3
        assert sla_condition(OVERDUE, NOW) is not None


# ---------------------------------------------------------------------- the API, end to end
def _user_id(product: Product, token: str) -> int:
    r = product.client().get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def test_task_api_filters_case_screen_races_assign_bulk_and_complete(product: Product) -> None:
    token = product.citizen_token()
    body = product.application_body("yo_spelling")
    number = product.apply(token, "yo_spelling")["number"]
    operator, other = product.staff_token("operator"), product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    client = product.client()
    person = body["person"]

    # The queue shows the applicant masked, the SLA state, and finds the case by number, СНИЛС and name.
    assert task["applicant"] == f"{person['last_name']} {person['first_name'][0]}. {person['middle_name'][0]}."
    assert task["sla"] in ("on_time", "at_risk") and task["sla_label"]
    for q in (number, person["snils"], person["last_name"][:5]):
        r = client.get("/api/v1/tasks", query_string={"q": q, "task": "operator_review"}, headers=bearer(operator))
        assert r.status_code == 200 and task["id"] in [t["id"] for t in r.get_json()["items"]], q
    r = client.get("/api/v1/tasks", query_string={"sla": "overdue", "q": number}, headers=bearer(operator))
    assert r.get_json()["items"] == [] and r.get_json()["total"] == 0
    r = client.get("/api/v1/tasks", query_string={"sla": "soon", "due_from": "завтра"}, headers=bearer(operator))
    assert r.status_code == 422
    assert {f["field"] for f in r.get_json()["error"]["fields"]} == {"sla", "due_from"}
    assert client.get("/api/v1/tasks?queue=all", headers=bearer(operator)).status_code == 403
    citizen_view = client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(token))
    assert citizen_view.status_code == 403

    # The case on one screen: unmasked applicant, every registry check, and the reading is journaled.
    r = client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(operator))
    assert r.status_code == 200, r.get_json()
    screen = r.get_json()
    assert screen["case"]["number"] == number and screen["case"]["data"]["person"]["snils"] == person["snils"]
    checks = {c["name"]: c for c in screen["checks"]}
    assert set(checks) == {"passport_check", "snils_check", "policy_check"}
    assert all(c["done"] and c["found"] for c in checks.values())
    assert "fuzzy" in {c["result"]["holder_match"] for c in checks.values()}
    operator_id = _user_id(product, operator)
    with product.app.app_context():
        inst = db.session.scalar(select(Application.instance_id).where(Application.number == number))
        views = [r for r in journal.read(db.session, inst) if r.event == "case_viewed"]
    assert views and views[-1].actor == f"user:{operator_id}" and views[-1].details["task"] == task["id"]

    # Two operators claim: the second gets one clear 409 naming who has it.
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(operator)).status_code == 200
    lost = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(other))
    assert lost.status_code == 409
    assert lost.get_json()["error"]["message"].startswith("Задачу уже взял в работу другой сотрудник: Петров Пётр")
    assert client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=bearer(other)).status_code == 409
    mine = client.get("/api/v1/tasks?queue=mine", headers=bearer(operator)).get_json()["items"]
    assert task["id"] in [t["id"] for t in mine]

    # A supervisor reassigns it to the other operator; not to someone of another role; operators may not.
    supervisor = product.staff_token("supervisor")
    other_id, appeals_id = _user_id(product, other), _user_id(product, product.staff_token("appeals"))
    assert client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": other_id},
                       headers=bearer(operator)).status_code == 403
    wrong = client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": appeals_id},
                        headers=bearer(supervisor))
    assert wrong.status_code == 422
    assert client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": "x"},
                       headers=bearer(supervisor)).status_code == 422
    r = client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": other_id}, headers=bearer(supervisor))
    assert r.status_code == 200 and r.get_json()["assignee"] == f"user:{other_id}"

    # Bulk: claiming a task someone has is reported per task; an unknown id is not found; assigning works.
    r = client.post("/api/v1/tasks/bulk", json={"action": "claim", "ids": [task["id"], 999999999]},
                    headers=bearer(operator))
    assert r.status_code == 200
    results = {x["id"]: x for x in r.get_json()["results"]}
    assert results[task["id"]]["code"] == "conflict" and "Петров Пётр" in results[task["id"]]["message"]
    assert results[999999999]["code"] == "not_found" and r.get_json()["failed"] == 2
    assert client.post("/api/v1/tasks/bulk", json={"action": "steal", "ids": []},
                       headers=bearer(operator)).status_code == 422
    assert client.post("/api/v1/tasks/bulk", json={"action": "assign", "ids": [task["id"]], "assignee": operator_id},
                       headers=bearer(operator)).status_code == 403
    r = client.post("/api/v1/tasks/bulk", json={"action": "assign", "ids": [task["id"]], "assignee": operator_id},
                    headers=bearer(supervisor))
    assert r.get_json()["results"][0]["ok"] is True

    # Completing: the form is validated (Russian messages per field), then the case moves on.
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "reject"}, headers=bearer(operator))
    assert r.status_code == 422 and {f["field"] for f in r.get_json()["error"]["fields"]} >= {"reasons", "explanation"}
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}, headers=bearer(operator))
    assert r.status_code == 200, r.get_json()
    assert product.wait_status(token, number, "ready")["status"] == "ready"
    done = client.get("/api/v1/tasks", query_string={"queue": "mine", "status": "completed"}, headers=bearer(operator))
    assert task["id"] in [t["id"] for t in done.get_json()["items"]]
    assert TaskFilter().limit == 50


def test_staff_document_preview_is_inline_role_checked_and_journaled(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "registry_disagrees")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    pdf = SCAN_PDF
    up = product.client().post(f"/api/v1/applications/{number}/documents", headers=bearer(token),
                               data={"kind": "snils_copy", "file": (io.BytesIO(pdf), "снилс.pdf")})
    assert up.status_code == 201, up.get_json()
    screen = product.client().get(f"/api/v1/tasks/{task['id']}", headers=bearer(operator)).get_json()
    assert [d["filename"] for d in screen["documents"]] == ["снилс.pdf"]
    assert screen["documents"][0]["preview"] == "pdf"
    client = product.client()
    email = add_user(product.app, "operator")
    assert login(client, email).status_code == 302
    r = client.get(f"/inbox/tasks/{task['id']}/documents/{up.get_json()['id']}?preview=1")
    assert r.status_code == 200 and r.data == pdf and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline")
    # The applicant's file runs in a sandbox of its own: no origin, no scripts, framed only by our pages.
    assert r.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    page = client.get(f"/inbox/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'<iframe src="[^"]+\?preview=1" sandbox ', page)
    saved = client.get(f"/inbox/tasks/{task['id']}/documents/{up.get_json()['id']}")
    assert saved.headers["Content-Disposition"].startswith("attachment")
    appeals = product.client()
    assert login(appeals, add_user(product.app, "appeals")).status_code == 302
    assert appeals.get(f"/inbox/tasks/{task['id']}/documents/{up.get_json()['id']}").status_code == 404
    with product.app.app_context():
        inst = db.session.scalar(select(Application.instance_id).where(Application.number == number))
        events = [r.event for r in journal.read(db.session, inst)]
    assert "document_viewed" in events
