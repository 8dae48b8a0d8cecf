"""Operations for supervisors and administrators, on the whole product (real registry service, workers,
scheduler, SMTP), both backends: a real registry fault becomes an incident that is retried from the page
and the case completes; timers fired and moved over the API; a case cancelled (the applicant sees it and
gets the mail) and suspended; every new route refuses citizens and operators and sends anonymous callers
to the login."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

from flask import url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from engine.clock import parse_iso, utcnow
from engine.models import ServiceCall
from tasks.cases.cancellation import NOTICE_LABEL
from tasks.cases.models.cases import Application
from tests.support import forkserver
from tests.support.accounts import add_user, bearer, csrf_token, login
from tests.support.backend import wait_for
from tests.support.employees import demo_employees, employees_csv, head_token, journal_events, submit, upload
from tests.support.product import Product
from web.extensions import db

OPERATIONS_BLUEPRINTS = ("operations", "operations_api")
SAMPLE_ARGS = {"number": "2026-000001", "timer_id": 1}
ACTIONS = ("cancel", "suspend", "resume", "fire", "reschedule")


def _page_client(product: Product, role: str):
    client = product.client()
    assert login(client, add_user(product.app, role)).status_code in (302, 303)
    return client


def _form_token(client, path: str) -> str:
    return csrf_token(client.get(path, follow_redirects=True).get_data(as_text=True))


def _incidents(product: Product, token: str, number: str) -> list[dict]:
    r = product.client().get("/api/v1/incidents", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return [i for i in r.get_json()["items"] if i["case"] == number]


def _cli(product: Product, *args: str) -> subprocess.CompletedProcess:
    """`backoffice ...` as an administrator runs it, against the product's database and Redis."""
    return forkserver.run(args, env=product.env, check=False, timeout=120)


def _notice_calls(product: Product, number: str) -> list[ServiceCall]:
    """The outbox rows of the case's cancellation notice (each read in a transaction of its own)."""
    with product.app.app_context():
        try:
            instance_id = db.session.scalar(select(Application.instance_id).where(Application.number == number))
            rows = db.session.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance_id,
                                                                ServiceCall.task_spec == NOTICE_LABEL)).all()
            db.session.expunge_all()
            return list(rows)
        finally:
            db.session.rollback()


def _outcome(html: str, incident_id: int) -> str | None:
    found = re.search(rf'data-incident="{incident_id}" data-outcome="([a-z_]+)"', html)
    return found.group(1) if found else None


def test_a_registry_fault_becomes_an_incident_retried_from_the_page_and_the_case_completes(product_with) -> None:
    product = product_with(REGISTRY_RETRY_MAX_ATTEMPTS="2", REGISTRY_BREAKER_RESET="1")
    api = product.staff_token("supervisor")
    page = _page_client(product, "supervisor")
    token = head_token(product)
    number = submit(product, token)
    with product.registry.faults_set("erzl:down"):
        assert upload(product, token, number, employees_csv(demo_employees(insured=2))).status_code == 200
        [incident] = wait_for(lambda: _incidents(product, api, number), timeout=90, message="the ЕРЗЛ incident")
        assert incident["operator"] == "employees.check_batch" and incident["attempts"] == 2
        assert incident["process"] == "certificate_organization" and incident["error"]

        html = page.get("/operations/incidents?operator=employees.check_batch").get_data(as_text=True)
        assert f'data-incident="{incident["id"]}" data-case="{number}"' in html
        assert f'href="/staff/cases/{number}/journal"' in html
        # Retried from the console while ЕРЗЛ is still down: it fails again and is an incident once more.
        out = _cli(product, "incidents", "retry", "--all", "--operator", "employees.check_batch")
        assert out.returncode == 0 and f"incident {incident['id']}: requeued" in out.stdout.splitlines(), out
        wait_for(lambda: journal_events(product, number).count("incident") == 2, timeout=90,
                 message="the retried call to fail again")
        assert [i["id"] for i in _incidents(product, api, number)] == [incident["id"]]

    html = page.get("/operations/incidents").get_data(as_text=True)
    r = page.post("/operations/incidents/retry", data={"ids": [str(incident["id"]), "999999999"],
                                                       "csrf_token": csrf_token(html)})
    body = r.get_data(as_text=True)
    assert _outcome(body, incident["id"]) == "requeued" and _outcome(body, 999999999) == "not_found"
    view = product.wait_status(token, number, "ready", "rejected", timeout=120)
    assert view["status"] == "ready"
    assert _incidents(product, api, number) == []
    events = journal_events(product, number)
    assert events.count("incident_retried") == 2 and "employees_checked" in events

    r = product.client().post("/api/v1/incidents/retry", json={"ids": [incident["id"]]}, headers=bearer(api))
    assert r.get_json() == {"results": [{"id": incident["id"], "outcome": "already_resolved"}]}
    out = _cli(product, "incidents", "retry", str(incident["id"]), "999999999")
    assert out.returncode == 1 and out.stdout.splitlines() == [f"incident {incident['id']}: already_resolved",
                                                               "incident 999999999: not_found"], out
    assert _cli(product, "incidents", "retry", "--operator", "employees.check_batch").returncode == 2
    r = product.client().post("/api/v1/incidents/retry", json={"ids": []}, headers=bearer(api))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "ids"


def _case_timer(product: Product, token: str, number: str) -> dict:
    r = product.client().get(f"/api/v1/timers?case={number}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    [timer] = r.get_json()["items"]
    return timer


def test_a_review_timer_is_moved_and_then_fired_now(product: Product) -> None:
    citizen = product.citizen_token()
    number = product.apply(citizen, "yo_spelling")["number"]
    product.wait_task(product.staff_token("operator"), number, "operator_review")
    api = product.staff_token("admin")
    timer = _case_timer(product, api, number)
    assert timer["element"] == "operator_review_sla" and timer["element_name"] == "Срок проверки истёк"
    assert timer["process"] == "certificate_individual" and not timer["suspended"]

    client = product.client()
    r = client.post(f"/api/v1/timers/{timer['id']}/reschedule", json={"due_at": "2030-01-01T09:00:00+03:00"},
                    headers=bearer(api))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "reason"
    r = client.post(f"/api/v1/timers/{timer['id']}/reschedule", json={"reason": "перенос", "due_at": "завтра"},
                    headers=bearer(api))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "due_at"
    assert client.post("/api/v1/timers/999999999/fire", json={"reason": "x"}, headers=bearer(api)).status_code == 404
    later = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    r = client.post(f"/api/v1/timers/{timer['id']}/reschedule",
                    json={"reason": "Праздники", "due_at": later.isoformat()}, headers=bearer(api))
    assert r.status_code == 200, r.get_json()
    moved = _case_timer(product, api, number)
    assert parse_iso(moved["due_at"]) == later

    page = _page_client(product, "supervisor")
    html = page.get(f"/operations/timers?case={number}").get_data(as_text=True)
    assert f'data-timer="{moved["id"]}"' in html and "Срок проверки истёк" in html
    r = page.post(f"/operations/timers/{moved['id']}/fire?case={number}", data={"reason": "",
                                                                                 "csrf_token": csrf_token(html)})
    assert r.status_code == 422 and f'id="fire-reason-{moved["id"]}-error"' in r.get_data(as_text=True)
    r = page.post(f"/operations/timers/{moved['id']}/fire?case={number}",
                  data={"reason": "Оператор в отпуске", "csrf_token": csrf_token(html)})
    assert r.status_code == 302
    product.wait_task(product.staff_token("supervisor"), number, "supervisor_review")
    audit = product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(api)).get_json()["items"]
    fired = [e for e in audit if e["event"] == "timer_fired"]
    assert fired and "причина: Оператор в отпуске" in fired[-1]["facts"] and fired[-1]["actor_role"]
    assert any(e["event"] == "timer_rescheduled" and "причина: Праздники" in e["facts"] for e in audit)


def test_a_cancelled_case_ends_for_the_citizen_with_the_reason_and_a_mail(product_with) -> None:
    """The cancellation notice is an outbox call written with the cancellation: with the mail server down it
    fails and is retried, the citizen already sees it in the portal, and the mail goes out once the server is
    back - once."""
    product = product_with(NOTIFY_RETRY_BASE_DELAY="0.3", NOTIFY_RETRY_MAX_DELAY="1")
    email = f"cancel-{utcnow().timestamp():.0f}@example.ru"
    citizen = product.citizen_token(email)
    number = product.apply(citizen, "yo_spelling")["number"]
    product.wait_task(product.staff_token("operator"), number, "operator_review")
    page = _page_client(product, "supervisor")

    html = page.get(f"/staff/cases/{number}/journal").get_data(as_text=True)
    assert f'href="/staff/cases/{number}/cancel"' in html
    form = page.get(f"/staff/cases/{number}/cancel").get_data(as_text=True)
    r = page.post(f"/staff/cases/{number}/cancel", data={"reason": "  ", "csrf_token": csrf_token(form)})
    assert r.status_code == 422 and 'id="reason-error"' in r.get_data(as_text=True)
    assert product.case(citizen, number)["status"] != "cancelled"
    wait_for(lambda: any(email in m.rcpt_tos and "принято" in m.subject for m in product.smtp.messages),
             timeout=60, message="the «принято» mail, before the outage")
    product.smtp.stop()
    try:
        r = page.post(f"/staff/cases/{number}/cancel", data={"reason": "Заявление подано ошибочно",
                                                             "csrf_token": csrf_token(form)})
        assert r.status_code == 302
        wait_for(lambda: any(c.status in ("retry_wait", "queued") and c.attempts >= 2
                             and (c.last_error or "").startswith("mail_failed")
                             for c in _notice_calls(product, number)),
                 timeout=60, message="the cancellation notice failing on the dead mail server")
        notices = product.client().get("/api/v1/notifications", headers=bearer(citizen)).get_json()["items"]
        assert [n["event"] for n in notices if n["case_number"] == number].count("cancelled") == 1
    finally:
        product.smtp.start()

    view = product.case(citizen, number)
    assert view["status"] == "cancelled" and view["status_label"] == "Отменено"
    assert view["cancellation"]["reason"] == "Заявление подано ошибочно" and view["actions"] == ["download_receipt"]
    listed = product.client().get("/api/v1/applications", headers=bearer(citizen)).get_json()
    assert any(c["number"] == number and c["status_label"] == "Отменено" for c in listed["items"])
    mail = wait_for(lambda: next((m for m in product.smtp.messages if email in m.rcpt_tos
                                  and "отменено" in m.subject), None), timeout=60, message="the cancellation mail")
    assert number in mail.subject and "Заявление подано ошибочно" in mail.text
    wait_for(lambda: [c.status for c in _notice_calls(product, number)] == ["done"], timeout=30,
             message="the notice's outbox row to be done")
    assert len([m for m in product.smtp.messages if email in m.rcpt_tos and "отменено" in m.subject]) == 1
    audit = product.client().get(f"/api/v1/applications/{number}/audit",
                                 headers=bearer(product.staff_token("supervisor"))).get_json()["items"]
    assert any(e["event"] == "service_completed" and e["message"] == "Уведомить об отмене заявления" for e in audit)
    citizen_page = product.client()
    assert login(citizen_page, email).status_code in (302, 303)
    assert "Заявление подано ошибочно" in citizen_page.get(f"/applications/{number}").get_data(as_text=True)
    assert "Отменено" in citizen_page.get("/applications").get_data(as_text=True)

    api = product.staff_token("supervisor")
    r = product.client().post(f"/api/v1/cases/{number}/resume", json={"reason": "x"}, headers=bearer(api))
    assert r.status_code == 409
    r = product.client().post("/api/v1/cases/2026-999999/cancel", json={"reason": "x"}, headers=bearer(api))
    assert r.status_code == 404


def test_a_suspended_case_waits_and_its_tasks_cannot_be_completed_until_resumed(product: Product) -> None:
    citizen = product.citizen_token()
    number = product.apply(citizen, "yo_spelling")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    api = product.staff_token("supervisor")
    client = product.client()
    r = client.post(f"/api/v1/cases/{number}/suspend", json={}, headers=bearer(api))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "reason"
    r = client.post(f"/api/v1/cases/{number}/suspend", json={"reason": "Запрос прокуратуры"}, headers=bearer(api))
    assert r.status_code == 200 and r.get_json()["suspended"] is True
    assert _case_timer(product, api, number)["suspended"] is True
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(operator)).status_code == 200
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}, headers=bearer(operator))
    assert r.status_code == 409
    r = client.post(f"/api/v1/cases/{number}/resume", json={"reason": "Проверка окончена"}, headers=bearer(api))
    assert r.status_code == 200 and r.get_json()["suspended"] is False
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}, headers=bearer(operator))
    assert r.status_code == 200, r.get_json()
    assert product.wait_status(citizen, number, "ready")["status"] == "ready"
    events = journal_events(product, number)
    assert events.index("instance_suspended") < events.index("instance_resumed")


def _operation_requests(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the operations blueprints, from the app's URL map."""
    requests = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.split(".")[0] not in OPERATIONS_BLUEPRINTS:
                continue
            for action in ACTIONS if "action" in rule.arguments else (None,):
                args = {k: v for k, v in SAMPLE_ARGS.items() if k in rule.arguments}
                if action:
                    args["action"] = action
                try:
                    path = url_for(rule.endpoint, **args)
                except (BuildError, ValueError):  # an action this route does not take
                    continue
                requests += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return requests


def test_citizens_and_operators_get_403_on_every_operations_route(product: Product) -> None:
    requests = _operation_requests(product.app)
    assert len(requests) >= 14  # incidents, retry, timers, fire, reschedule, 3 case actions: pages and API
    for role in ("citizen", "operator"):
        token = product.citizen_token() if role == "citizen" else product.staff_token(role)
        page = _page_client(product, role)
        form = _form_token(page, "/")
        for method, path in requests:
            if path.startswith("/api/"):
                r = product.client().open(path, method=method, json={"reason": "x", "ids": [1]}, headers=bearer(token))
            else:
                r = page.open(path, method=method, data={"reason": "x", "csrf_token": form})
            assert r.status_code == 403, (role, method, path, r.status_code)
    anonymous = product.client()
    for method, path in requests:
        r = anonymous.open(path, method=method, json={"reason": "x"} if path.startswith("/api/") else None)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path)
        elif method == "GET":
            assert r.status_code == 302 and "/login" in r.location, (method, path)
        else:
            assert r.status_code in (302, 400), (method, path)  # the login, or the missing CSRF token first
