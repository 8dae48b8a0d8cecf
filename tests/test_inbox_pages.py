"""Staff inbox pages (/inbox) without JavaScript: list, filters, saved filters, claim races, task page, form,
and the assignee lists (only people who may take the task)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import journal
from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tests.support.accounts import add_user, csrf_token, login
from tests.support.appeals import appealed_case
from tests.support.product import Product
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


def _user_id(product: Product, email: str) -> int:
    with product.app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def _options(html: str, select_id: str) -> set[int]:
    """The user ids a <select> offers."""
    block = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert block, f"no #{select_id} on the page"
    return {int(v) for v in re.findall(r'<option value="(\d+)"', block.group(0))}


def test_assignee_lists_offer_only_people_who_may_take_the_task(product: Product) -> None:
    _, number = appealed_case(product)
    task = product.wait_task(product.staff_token("appeals"), number, "appeal_review")
    operator_email, specialist_email, boss_email = (add_user(product.app, r) for r in
                                                    ("operator", "appeals", "supervisor"))
    operator, specialist, boss_id = (_user_id(product, e) for e in (operator_email, specialist_email, boss_email))
    boss = product.client()
    assert login(boss, boss_email).status_code == 302

    # The task page offers the appeals specialist (and supervisors, who may act on any task), no operator.
    screen = page(boss, f"/inbox/tasks/{task['id']}")
    offered = _options(screen, "assignee")
    assert specialist in offered and boss_id in offered and operator not in offered

    # The bulk list: people who may take a task on the page, each option saying which lanes they may take.
    listed = page(boss, f"/inbox?queue=all&q={number}")
    bulk_offered = _options(listed, "bulk-assignee")
    assert bulk_offered >= {specialist, boss_id} and operator not in bulk_offered
    assert f'<option value="{specialist}" data-task-roles="appeals">' in listed
    assert f'data-task-id="{task["id"]}" data-sla="' in listed and 'data-role="appeals"' in listed

    # Assigning someone the list does not offer is still refused, saying why, and changes nothing.
    token = csrf_token(screen)
    r = boss.post(f"/inbox/tasks/{task['id']}/assign", data={"csrf_token": token, "assignee": str(operator)})
    refused = page(boss, r.location)
    assert "не может выполнить эту задачу: она для роли «Специалист по обжалованию»" in refused
    assert "а у сотрудника роль «Оператор»" in refused
    r = boss.post("/inbox/bulk", data={"csrf_token": token, "action": "assign", "assignee": str(operator),
                                       "ids": [str(task["id"])]})
    assert "Петров Пётр не может выполнить эту задачу" in page(boss, r.location)
    appeals = product.staff_token("appeals")
    assert product.wait_task(appeals, number, "appeal_review")["assignee"] is None
    r = boss.post(f"/inbox/tasks/{task['id']}/assign", data={"csrf_token": token, "assignee": str(specialist)})
    assert "Задача назначена: Петров Пётр." in page(boss, r.location)
    assert product.wait_task(appeals, number, "appeal_review")["assignee"] == f"user:{specialist}"
