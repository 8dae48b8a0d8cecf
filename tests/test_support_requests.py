"""«Обращения» over the API on the real product (workers, scheduler, SMTP, the support_request process):
a request with a screenshot, a specialist's answer mailed to the citizen, a reopening; «обжалование
отказа» becoming the case's own appeal; and who may do what (404 for another citizen, 403 for other staff).
"""

from __future__ import annotations

from typing import Any

from tests.support.accounts import add_user, bearer, login, unique_email
from tests.support.backend import wait_for
from tests.support.product import Product
from tests.support.support_requests import answer, file_request, png, support_task


def request_of(product: Product, token: str, number: str) -> dict[str, Any]:
    r = product.client().get(f"/api/v1/support-requests/{number}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def wait_request(product: Product, token: str, number: str, status: str, actions: list[str]) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        view = request_of(product, token, number)
        return view if view["status"] == status and view["actions"] == actions else None

    return wait_for(reached, timeout=60, interval=0.3, message=f"{number} to be {status} with {actions}")


def test_request_answered_mailed_and_reopened(product: Product) -> None:
    email = "support-citizen@example.ru"
    token = product.citizen_token(email)
    filed = file_request(product, token, type="technical", text="Кнопка «Подать заявление» не нажимается на телефоне.",
                         files=[("экран.png", png())])
    assert filed.status_code == 201, filed.get_json()
    body = filed.get_json()
    number = body["number"]
    assert number.startswith("O-") and body["status"] == "open" and body["due_date"]

    view = request_of(product, token, number)
    assert view["type_label"] == "Технический сбой" and view["status_label"] == "На рассмотрении"
    [first] = view["messages"]
    assert first["kind"] == "request" and first["attachments"][0]["filename"] == "экран.png"
    assert view["actions"] == []  # nothing to add until the specialist answers

    support = product.staff_token("support")
    task = support_task(product, support, number)
    assert task["role"] == "support" and task["due_at"]
    # The inbox finds a request by its number however it is typed (Cyrillic «О», lowercase, «№», spaces).
    typed = f" № о-{number[2:]} "
    found = product.client().get("/api/v1/tasks", query_string={"queue": "group", "q": typed}, headers=bearer(support))
    assert [(t["id"], t["case_number"]) for t in found.get_json()["items"]] == [(task["id"], number)]
    client = product.client()
    login(client, add_user(product.app, "support"))
    listed = client.get("/inbox", query_string={"queue": "group", "q": typed}).get_data(as_text=True)
    assert number in listed and "Номер заявления или обращения" in listed
    screen = product.client().get(f"/api/v1/tasks/{task['id']}", headers=bearer(support)).get_json()
    assert screen["support_request"]["messages"][0]["text"] == "Кнопка «Подать заявление» не нажимается на телефоне."
    answer(product, support, task["id"], "close", "Исправили ошибку, обновите страницу.")

    closed = wait_request(product, token, number, "closed", ["message"])
    assert closed["messages"][-1] == {**closed["messages"][-1], "kind": "close", "staff": True,
                                      "text": "Исправили ошибку, обновите страницу."}
    assert closed["reply_until"]
    mail = product.smtp.wait_for_mail(email)
    assert mail.subject == f"Обращение № {number}: обращение закрыто"
    assert "Исправили ошибку, обновите страницу." in mail.text and f"/support/{number}" in mail.text

    r = product.client().post(f"/api/v1/support-requests/{number}/messages", json={"text": "Всё ещё не работает."},
                              headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "open" and r.get_json()["messages"][-1]["kind"] == "message"
    again = support_task(product, support, number)
    assert again["id"] != task["id"]
    answer(product, support, again["id"], "reply", "Очистите кэш браузера.")
    wait_request(product, token, number, "answered", ["message"])
    assert product.smtp.wait_for_mail(email).subject == f"Обращение № {number}: ответ службы поддержки"


def test_who_may_read_and_write_a_request(product: Product) -> None:
    owner = product.citizen_token()
    filed = file_request(product, owner, type="other", text="Как поменять адрес электронной почты?")
    number = filed.get_json()["number"]
    stranger = product.citizen_token()
    client = product.client()
    assert client.get(f"/api/v1/support-requests/{number}", headers=bearer(stranger)).status_code == 404
    r = client.post(f"/api/v1/support-requests/{number}/messages", json={"text": "чужое"}, headers=bearer(stranger))
    assert r.status_code == 404
    assert number not in [i["number"] for i in client.get("/api/v1/support-requests",
                                                          headers=bearer(stranger)).get_json()["items"]]
    for role in ("operator", "appeals", "analyst"):
        staff = product.staff_token(role)
        for response in (client.get(f"/api/v1/support-requests/{number}", headers=bearer(staff)),
                         client.get("/api/v1/support-requests", headers=bearer(staff)),
                         client.post("/api/v1/support-requests", json={"type": "other", "text": "x" * 20},
                                     headers=bearer(staff))):
            assert response.status_code == 403, (role, response.get_json())
            assert response.get_json()["error"]["code"] == "forbidden"
    for role in ("support", "supervisor"):
        staff = product.staff_token(role)
        assert client.get(f"/api/v1/support-requests/{number}", headers=bearer(staff)).status_code == 200
        listed = client.get("/api/v1/support-requests", headers=bearer(staff)).get_json()["items"]
        assert number in [i["number"] for i in listed]
        r = client.post(f"/api/v1/support-requests/{number}/messages", json={"text": "от сотрудника"},
                        headers=bearer(staff))
        assert r.status_code == 403  # staff answer through the inbox's task, never as the citizen
    assert client.get(f"/api/v1/support-requests/{number}").status_code == 401

    # The request's answer task is the support lane's: another lane's staff find no such task (404), who
    # works no tasks (the analyst, the citizen) is refused (403), and the task stays open for support.
    task = support_task(product, product.staff_token("support"), number)
    reply = {"reply_decision": "close", "reply_text": "Чужой ответ"}
    expected = {product.staff_token("operator"): 404, product.staff_token("appeals"): 404,
                product.staff_token("analyst"): 403, owner: 403}
    for token, status in expected.items():
        assert client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(token)).status_code == status
        for action in ("claim", "complete"):
            r = client.post(f"/api/v1/tasks/{task['id']}/{action}", json=reply, headers=bearer(token))
            assert r.status_code == status, (action, r.get_json())
    assert support_task(product, product.staff_token("support"), number)["id"] == task["id"]


def test_bad_input_changes_nothing(product: Product) -> None:
    token = product.citizen_token()
    client = product.client()
    r = client.post("/api/v1/support-requests", json={"type": "complaint", "text": "коротко"}, headers=bearer(token))
    assert r.status_code == 422
    assert {f["field"] for f in r.get_json()["error"]["fields"]} == {"type", "text"}
    r = file_request(product, token, type="technical", text="Не загружается страница заявления.",
                     files=[("screen.png", b"not an image at all")])
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "invalid_format"
    r = file_request(product, token, type="technical", text="Не загружается страница заявления.",
                     files=[(f"s{i}.png", png()) for i in range(6)])
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "screenshots"
    r = client.post("/api/v1/support-requests", json={"type": "case_question", "text": "Где моя справка по заявлению?",
                                                      "case_number": "2026-999999"}, headers=bearer(token))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "case_number"
    r = client.post("/api/v1/support-requests", json={"type": "appeal", "text": "Не согласен с отказом."},
                    headers=bearer(token))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "case_number"
    assert client.get("/api/v1/support-requests", headers=bearer(token)).get_json()["items"] == []


def test_an_appeal_request_is_the_cases_own_appeal(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")

    def filed() -> Any:
        r = file_request(product, token, type="appeal", case_number=number,
                         text="Паспорт не утерян, он у меня на руках.", files=[("паспорт.png", png())])
        return r if r.status_code == 201 else None

    # The case waits for an appeal once its refusal decision and notice are out.
    r = wait_for(filed, timeout=30, interval=0.5, message="the case to wait for an appeal")
    body = r.get_json()
    assert body["appeal_number"] == f"A-{number}" and body["status"] == "appeal" and body["due_date"]
    case = product.wait_status(token, number, "appealed")
    [appeal] = case["appeals"]
    assert appeal["number"] == f"A-{number}"
    assert "паспорт.png" in [d["filename"] for d in case["documents"]]  # the screenshot went with the appeal
    view = request_of(product, token, body["number"])
    assert view["appeal_number"] == f"A-{number}" and view["status_label"] == "Передано на обжалование"
    # A second appeal through either channel is refused: there is one appeal.
    again = product.client().post("/api/v1/support-requests", json={
        "type": "appeal", "case_number": number, "text": "Повторно обжалую отказ."}, headers=bearer(token))
    assert again.status_code == 409
    direct = product.client().post(f"/api/v1/applications/{number}/appeal", json={"grounds": "Ещё раз обжалую."},
                                   headers=bearer(token))
    assert direct.status_code == 409


def test_an_unanswered_request_reminds_support_then_goes_to_the_supervisor(product: Product) -> None:
    specialist = unique_email("reminded")
    add_user(product.app, "support", specialist)
    email = unique_email("unanswered")
    token = product.citizen_token(email)
    number = file_request(product, token, type="case_question", text="Когда будет готова справка?").get_json()["number"]

    product.pass_timer(number, "reply_reminder")  # support_reminder (2BD) passes with no answer
    subject = f"Напоминание: срок ответа на обращение № {number}"
    reminder = product.smtp.wait_for_mail(specialist, timeout=60, subject=subject)
    assert reminder.subject == subject
    product.pass_timer(number, "reply_overdue")  # then support_reply (3BD)
    supervisor = product.staff_token("supervisor")
    task = support_task(product, supervisor, number, task="support_escalated")
    assert task["role"] == "supervisor"
    answer(product, supervisor, task["id"], "reply", "Справка будет готова сегодня.")
    token = product.login(email)  # days later: the first token has expired
    wait_request(product, token, number, "answered", ["message"])
    assert product.smtp.wait_for_mail(email).subject == f"Обращение № {number}: ответ службы поддержки"
    audit = product.client().get(f"/api/v1/support-requests/{number}", headers=bearer(supervisor)).get_json()
    assert [m["kind"] for m in audit["messages"]] == ["request", "reply"]
