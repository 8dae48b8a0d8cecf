"""Staff inbox pages (/inbox) without JavaScript: list, filters, saved filters, claim races, task page, form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import journal
from tasks.cases.models import Application
from tests.support.accounts import add_user, csrf_token, login
from tests.support.product import Product
from web.accounts.models import User
from web.extensions import db


def staff_client(product: Product, role: str) -> FlaskClient:
    client = product.client()
    response = login(client, add_user(product.app, role))
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r.get_data(as_text=True)


def test_inbox_pages_list_filter_claim_conflict_and_complete(product: Product) -> None:
    token = product.citizen_token()
    body = product.application_body("yo_spelling")
    number = product.apply(token, "yo_spelling")["number"]
    task = product.wait_task(product.staff_token("operator"), number, "operator_review")
    person = body["person"]
    alice, bob = staff_client(product, "operator"), staff_client(product, "operator")

    # Only case-working staff; the navigation links the inbox.
    citizen = product.client()
    assert citizen.get("/inbox").status_code == 302  # to the login page
    assert staff_client(product, "analyst").get("/inbox?queue=group").status_code == 403
    home = page(alice, "/inbox?queue=group")
    assert 'href="/inbox"' in home and "Задачи группы" in home and "Все</a>" not in home

    # The group queue lists the task with the applicant masked; searching by number finds it.
    html = page(alice, f"/inbox?queue=group&q={number}")
    masked = f"{person['last_name']} {person['first_name'][0]}. {person['middle_name'][0]}."
    assert number in html and masked in html and person["middle_name"] not in html
    assert f'data-task-id="{task["id"]}"' in html and 'id="inbox-results"' in html
    bad = page(alice, "/inbox?queue=group&due_from=32.13.2026&sla=x", 422)
    assert "Введите дату в формате ДД.ММ.ГГГГ" in bad and 'aria-invalid="true"' in bad
    assert alice.get("/inbox?queue=all").status_code == 422  # «Все» is for supervisors

    # The poll endpoint: the visible queue's total, the newest task id so far, and how many are newer.
    poll = alice.get(f"/inbox/poll?queue=group&q={number}&since=0").get_json()
    assert poll["total"] == 1 and not poll["total_capped"] and poll["new"] == 1 and poll["max_id"] >= task["id"]
    assert alice.get(f"/inbox/poll?queue=group&q={number}&since={task['id']}").get_json()["new"] == 0
    bad_poll = alice.get("/inbox/poll?queue=group&sla=soon")
    assert bad_poll.status_code == 422
    assert [f["field"] for f in bad_poll.get_json()["error"]["fields"]] == ["sla"]

    # Saved filters: save, list, delete.
    token_a = csrf_token(html)
    r = alice.post("/inbox/filters", data={"csrf_token": token_a, "name": "Мой поиск",
                                           "back": f"queue=group&q={number}&page=3"})
    assert r.status_code == 302
    listed = page(alice, r.location)
    assert "Фильтр «Мой поиск» сохранён." in listed
    saved = re.search(r'href="/inbox\?([^"]+)">Мой поиск</a>', listed)
    assert saved and "page" not in saved.group(1) and number in saved.group(1)
    assert "Мой поиск" not in page(bob, "/inbox")  # per user
    filter_id = re.search(r'action="/inbox/filters/(\d+)/delete"', listed).group(1)
    assert bob.post(f"/inbox/filters/{filter_id}/delete",
                    data={"csrf_token": csrf_token(page(bob, "/inbox"))}).status_code == 404
    assert "Фильтр удалён." in page(alice, alice.post(f"/inbox/filters/{filter_id}/delete",
                                                      data={"csrf_token": token_a}).location)
    assert alice.post("/inbox/filters", data={"name": "без CSRF", "back": ""}).status_code == 400

    # Alice claims from the list; Bob, a moment later, gets one clear message.
    r = alice.post(f"/inbox/tasks/{task['id']}/claim", data={"csrf_token": token_a, "back": "queue=group"})
    assert r.status_code == 302 and r.location.startswith(f"/inbox/tasks/{task['id']}")
    token_b = csrf_token(page(bob, "/inbox?queue=group"))
    r = bob.post(f"/inbox/tasks/{task['id']}/claim", data={"csrf_token": token_b, "back": "queue=group"})
    assert r.status_code == 302
    assert "Задачу уже взял в работу другой сотрудник: Петров Пётр" in page(bob, r.location)
    r = bob.post("/inbox/bulk", data={"csrf_token": token_b, "action": "claim", "ids": [str(task["id"])]})
    assert "Задачу уже взял в работу другой сотрудник" in page(bob, r.location)

    # The task page: the case unmasked, the registry checks, the journal; opening it is journaled.
    screen = page(alice, f"/inbox/tasks/{task['id']}")
    assert person["middle_name"] in screen and person["snils"][:3] in screen
    assert "Проверки в реестрах" in screen and 'data-check="policy_check"' in screen and "Паспорт (МВД)" in screen
    assert "Вернуть в очередь" in screen and 'name="decision"' in screen
    bob_view = page(bob, f"/inbox/tasks/{task['id']}")
    assert "Задачу выполняет другой сотрудник" in bob_view and 'name="decision"' not in bob_view
    with product.app.app_context():
        inst = db.session.scalar(select(Application.instance_id).where(Application.number == number))
        viewers = {r.actor for r in journal.read(db.session, inst) if r.event == "case_viewed"}
    assert len(viewers) >= 2

    # The form: server-side validation, Russian errors next to the fields, values kept.
    token_a = csrf_token(screen)
    r = alice.post(f"/inbox/tasks/{task['id']}/complete",
                   data={"csrf_token": token_a, "decision": "reject", "internal_comment": "проверить"})
    assert r.status_code == 422
    errors = r.get_data(as_text=True)
    assert "Выберите хотя бы одну причину отказа" in errors and "Напишите заявителю" in errors
    assert 'id="f-reasons-error"' in errors and ">проверить</textarea>" in errors
    r = alice.post(f"/inbox/tasks/{task['id']}/complete", data={"csrf_token": token_a, "decision": "approve",
                                                                 "back": "queue=mine"})
    assert r.status_code == 302 and r.location == "/inbox?queue=mine"
    assert "Задача выполнена." in page(alice, r.location)
    assert product.wait_status(token, number, "ready")["status"] == "ready"
    again = alice.post(f"/inbox/tasks/{task['id']}/complete", data={"csrf_token": token_a, "decision": "approve"})
    assert "Задача уже выполнена" in page(alice, again.location)


def test_supervisor_sees_all_and_reassigns(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "registry_disagrees")["number"]
    task = product.wait_task(product.staff_token("operator"), number, "operator_review")
    boss = staff_client(product, "supervisor")
    target_email = add_user(product.app, "operator")
    html = page(boss, f"/inbox?queue=all&q={number}")
    assert "Все</a>" in html and f'data-task-id="{task["id"]}"' in html and "Назначить сотруднику" in html
    option = re.search(r'<option value="(\d+)">Петров Пётр</option>', page(boss, f"/inbox/tasks/{task['id']}"))
    assert option
    with product.app.app_context():
        target = db.session.scalar(select(User).where(User.email == target_email))
        target_id = target.id
    token_s = csrf_token(html)
    r = boss.post("/inbox/bulk", data={"csrf_token": token_s, "action": "assign", "assignee": str(target_id),
                                       "ids": [str(task["id"]), "999999999"], "back": f"queue=all&q={number}"})
    assert r.status_code == 302 and r.location == f"/inbox?queue=all&q={number}"
    after = page(boss, r.location)
    assert "Выполнено для задач: 1." in after and "Задача №\u00a0999999999: Задача не найдена" in after
    mine = staff_client(product, "operator")
    assert f'data-task-id="{task["id"]}"' not in page(mine, "/inbox?queue=mine")
    operator = product.client()
    login(operator, target_email)
    assert f'data-task-id="{task["id"]}"' in page(operator, "/inbox")  # «Мои задачи» is the default
