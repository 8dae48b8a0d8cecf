"""Rejection, resubmission and appeals over the JSON API, end to end on real parts (both backends).

The product's own diagram decides: a refused case waits `info_wait` for a resubmission or an appeal,
an appeal goes to the appeals specialist (reminder, then the supervisor when its SLA runs out), an
upheld appeal may go to the higher authority. BACKOFFICE_SLA shortens the deadlines.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from engine import journal
from engine.calendar import business_days_deadline
from engine.clock import parse_iso, utcnow
from forms.dates import MOSCOW
from tasks.cases.models.cases import Appeal, Application, ApplicationAttempt
from tasks.cases.resubmission import record_attempt
from tasks.config import business_calendar
from tests.support.accounts import bearer
from tests.support.backend import wait_for
from tests.support.pdf import pdf_text
from tests.support.product import Product
from tests.support.queries import insert_waits_on_lock
from tests.support.registry import demo_policies, demo_records
from web.extensions import db


def _post(product: Product, token: str, path: str, body: Any) -> Any:
    return product.client().post(f"/api/v1/applications/{path}", json=body, headers=bearer(token))


def _email_of(product: Product, token: str) -> str:
    return product.client().get("/api/v1/auth/me", headers=bearer(token)).get_json()["email"]


def _complete(product: Product, token: str, task: dict[str, Any], form: dict[str, Any]) -> Any:
    return product.client().post(f"/api/v1/tasks/{task['id']}/complete", json=form, headers=bearer(token))


def _attempts(product: Product, number: str) -> list[ApplicationAttempt]:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        rows = list(db.session.scalars(select(ApplicationAttempt).where(ApplicationAttempt.application_id == app.id)
                                       .order_by(ApplicationAttempt.attempt)))
        db.session.expunge_all()
        return rows


def _journal_events(product: Product, number: str) -> list[str]:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        return [e.event for e in journal.read(db.session, app.instance_id)]


def _wait_action(product: Product, token: str, number: str, action: str) -> dict[str, Any]:
    """The case once it offers `action`: a refused case waits for the citizen after its decision and notice."""

    def offered() -> dict[str, Any] | None:
        view = product.case(token, number)
        return view if action in view["actions"] else None

    return wait_for(offered, timeout=60, interval=0.3, message=f"{number} to offer {action}")


def _mail_with(product: Product, email: str, text: str, timeout: float = 60) -> Any:
    """The first mail to `email` whose text contains `text` (mails before it are passed over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mail = product.smtp.wait_for_mail(email, timeout=max(deadline - time.monotonic(), 0.1))
        if text in mail.text:
            return mail
    raise AssertionError(f"no mail to {email} with {text!r}")


def _right_policy_number(scenario: str) -> str:
    return sorted(demo_policies(demo_records(scenario)[0]), key=lambda p: p["status"] == "active")[-1]["enp"]


def test_rejected_case_resubmitted_with_the_right_policy_number_is_issued(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "policy_number_unknown")["number"]
    product.wait_status(token, number, "rejected")
    view = _wait_action(product, token, number, "resubmit")
    assert [r["code"] for r in view["reasons"]] == ["policy_not_found"]
    assert {"resubmit", "appeal", "download_decision"} <= set(view["actions"])
    assert view["attempt"] == 1 and view["reply_until"]
    reply_until = parse_iso(view["reply_until"])
    assert timedelta(days=29, hours=23) < reply_until - datetime.now(UTC) <= timedelta(days=30)

    # Bad input: field errors, and nothing changes.
    bad = _post(product, token, f"{number}/resubmit", {"policy_number": "1234567890123456", "comment": "x" * 2001})
    assert bad.status_code == 422
    fields = {f["field"]: f for f in bad.get_json()["error"]["fields"]}
    assert fields["comment"]["code"] == "too_long"
    unknown = _post(product, token, f"{number}/resubmit", {"applicant": "organization", "policy_number": "1"})
    assert unknown.status_code == 422 and "applicant" in {f["field"] for f in unknown.get_json()["error"]["fields"]}
    invalid = _post(product, token, f"{number}/resubmit", {"policy_number": "1234567890123456"})
    assert invalid.status_code == 422
    assert [f["field"] for f in invalid.get_json()["error"]["fields"]] == ["policy_number"]
    same = product.case(token, number)
    assert same["status"] == "rejected" and same["attempt"] == 1 and "resubmit" in same["actions"]
    assert [a.attempt for a in _attempts(product, number)] == [1]

    stranger = product.citizen_token()
    assert _post(product, stranger, f"{number}/resubmit", {"comment": "чужое"}).status_code == 404

    right = _right_policy_number("policy_number_unknown")
    r = _post(product, token, f"{number}/resubmit", {"policy_number": right, "comment": "Исправил номер полиса"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["number"] == number and r.get_json()["attempt"] == 2
    again = _post(product, token, f"{number}/resubmit", {"policy_number": right})
    assert again.status_code == 409 and again.get_json()["error"]["message"]

    view = product.wait_status(token, number, "ready", "rejected")
    assert view["status"] == "ready", view
    assert view["number"] == number and view["attempt"] == 2
    assert view["certificate"]["number"] == f"{number}-2"
    attempts = _attempts(product, number)
    assert [(a.attempt, a.data["policy_number"]) for a in attempts] == [
        (1, product.application_body("policy_number_unknown")["policy_number"]), (2, right)]
    assert attempts[1].comment == "Исправил номер полиса"
    assert "Получены исправленные сведения (повторная подача)" in [e["message"] for e in view["journal"]]

    late = _post(product, token, f"{number}/resubmit", {"comment": "ещё раз"})
    assert late.status_code == 409
    assert late.get_json()["error"]["message"].startswith("Повторно подать заявление можно только")
    assert _post(product, token, f"{number}/appeal", {"grounds": "Не согласен с решением"}).status_code == 409


def test_refusal_decision_pdf(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "no_policy")["number"]
    product.wait_status(token, number, "rejected")
    view = _wait_action(product, token, number, "appeal")
    body = product.application_body("no_policy")
    r = product.client().get(f"/api/v1/applications/{number}/decision.pdf", headers=bearer(token))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = " ".join(pdf_text(r.data).split())
    person = body["person"]
    assert f"№ {number}/1" in text
    assert " ".join(x for x in (person["last_name"], person["first_name"], person.get("middle_name")) if x) in text
    assert "Нет сведений о действующем страховании в территориальном фонде ОМС" in text
    assert view["reasons"][0]["note"].split()[0] in text
    until = parse_iso(view["reply_until"]).astimezone(MOSCOW).strftime("%d.%m.%Y")
    assert f"До {until} включительно" in text
    assert "подать заявление повторно" in text and "обжаловать отказ" in text
    assert "10 рабочих дней" in text and "в течение 24 часов;" in text
    assert f"{datetime.now(MOSCOW):%d.%m.%Y}" in text
    stranger = product.citizen_token()
    assert product.client().get(f"/api/v1/applications/{number}/decision.pdf",
                                headers=bearer(stranger)).status_code == 404
    assert number in _mail_with(product, _email_of(product, token), "Нет сведений о действующем страховании").subject

    ready_owner = product.citizen_token()
    ready = product.apply(ready_owner, "valid")["number"]
    product.wait_status(ready_owner, ready, "ready")
    r = product.client().get(f"/api/v1/applications/{ready}/decision.pdf", headers=bearer(ready_owner))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_decision"


def test_appeal_overturned_issues_the_certificate(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")
    _wait_action(product, token, number, "appeal")
    bad = _post(product, token, f"{number}/appeal", {"grounds": "", "documents": [999999]})
    assert bad.status_code == 422
    assert "grounds" in {f["field"] for f in bad.get_json()["error"]["fields"]}
    assert product.case(token, number)["status"] == "rejected"

    before = datetime.now(UTC)
    r = _post(product, token, f"{number}/appeal", {"grounds": "Паспорт найден, заявление об утрате отозвано."})
    assert r.status_code == 201, r.get_json()
    filed = r.get_json()
    assert filed["appeal_number"] == f"A-{number}" and filed["level"] == 1
    due = parse_iso(filed["due_at"])
    assert business_days_deadline(10, before, calendar=business_calendar()) <= due
    assert due <= business_days_deadline(10, datetime.now(UTC), calendar=business_calendar())
    assert filed["due_date"] == due.astimezone(MOSCOW).date().isoformat()
    view = product.case(token, number)
    assert view["status"] == "appealed" and "appeal" not in view["actions"] and "resubmit" not in view["actions"]
    listed = view["appeals"][0]
    assert listed["number"] == filed["appeal_number"] and listed["due_date"] == filed["due_date"]
    assert _post(product, token, f"{number}/appeal", {"grounds": "Ещё одна жалоба на то же"}).status_code == 409

    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    assert task["role"] == "appeals" and parse_iso(task["due_at"]) == due  # the timer and the answer agree
    assert "Паспорт найден" in task["instructions"]
    r = _complete(product, specialist, task, {"appeal_decision": "overturn", "appeal_comment": "Отказ отменён."})
    assert r.status_code == 200, r.get_json()
    view = product.wait_status(token, number, "ready")
    assert view["certificate"]["number"] == f"{number}-1"
    decided = wait_for(lambda: (a := product.case(token, number)["appeals"][0])["outcome"] and a,
                       timeout=30, message="appeal decision recorded")
    assert decided["outcome"] == "overturn" and decided["comment"] == "Отказ отменён."


def test_appeal_asks_the_citizen_who_answers_through_the_api(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")
    _wait_action(product, token, number, "appeal")
    assert _post(product, token, f"{number}/answer", {"answer": "рано"}).status_code == 409
    r = _post(product, token, f"{number}/appeal", {"grounds": "Паспорт не утерян, заявление подано по ошибке."})
    assert r.status_code == 201, r.get_json()
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    r = _complete(product, specialist, task, {"appeal_decision": "request_info",
                                              "appeal_comment": "Приложите справку МВД об отзыве заявления."})
    assert r.status_code == 200, r.get_json()
    view = _wait_action(product, token, number, "answer")
    assert view["status"] == "appealed" and view["request"] == "Приложите справку МВД об отзыве заявления."
    assert "resubmit" not in view["actions"] and "appeal" not in view["actions"]

    empty = _post(product, token, f"{number}/answer", {"answer": ""})
    assert empty.status_code == 422 and [f["field"] for f in empty.get_json()["error"]["fields"]] == ["answer"]
    assert "answer" in product.case(token, number)["actions"]
    r = _post(product, token, f"{number}/answer", {"answer": "Справка МВД приложена к заявлению."})
    assert r.status_code == 200, r.get_json()
    assert "answer" not in r.get_json()["actions"]
    assert "Получен ответ на запрос сведений по жалобе" in [e["message"] for e in r.get_json()["journal"]]

    again = wait_for(lambda: next((t for t in product.tasks(specialist, number=number)
                                   if t["task"] == "appeal_review" and t["id"] != task["id"]), None),
                     timeout=60, message="the appeal back with the specialist")
    assert "Справка МВД приложена" in again["instructions"]
    assert parse_iso(again["due_at"]) == parse_iso(task["due_at"])  # the deadline does not move
    # Back with the specialist who asked (assigned, in their «Мои задачи»), not unassigned in the group.
    me = product.client().get("/api/v1/auth/me", headers=bearer(specialist)).get_json()["id"]
    assert again["assignee"] == f"user:{me}"
    assert again["id"] in [t["id"] for t in product.tasks(specialist, queue="mine", number=number)]
    r = _complete(product, specialist, again, {"appeal_decision": "overturn"})
    assert r.status_code == 200, r.get_json()
    assert product.wait_status(token, number, "ready")["status"] == "ready"
    # the request for information was not the appeal's last word: the decision after the answer is
    decided = wait_for(lambda: (a := product.case(token, number)["appeals"][0])["status"] == "decided" and a,
                       timeout=30, message="the appeal's final decision recorded")
    assert decided["outcome"] == "overturn" and decided["outcome_label"] == "удовлетворена: отказ отменён"


def test_upheld_appeal_may_go_to_the_higher_authority(product: Product) -> None:
    token = product.citizen_token()
    email = _email_of(product, token)
    number = product.apply(token, "passport_replaced")["number"]
    product.wait_status(token, number, "rejected")
    _wait_action(product, token, number, "appeal")
    r = _post(product, token, f"{number}/appeal", {"grounds": "Паспорт заменён, прикладываю новый."})
    assert r.status_code == 201, r.get_json()
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    r = _complete(product, specialist, task, {"appeal_decision": "uphold"})
    assert r.status_code == 422 and "appeal_comment" in {f["field"] for f in r.get_json()["error"]["fields"]}
    r = _complete(product, specialist, task, {"appeal_decision": "uphold",
                                              "appeal_comment": "Данные паспорта в заявлении устарели."})
    assert r.status_code == 200, r.get_json()

    def upheld() -> dict | None:
        view = product.case(token, number)
        return view if view["status"] == "rejected" and "appeal" in view["actions"] else None

    view = wait_for(upheld, timeout=60, message="the upheld appeal")
    assert "resubmit" in view["actions"]
    decision_mail = _mail_with(product, email, "Данные паспорта в заявлении устарели.")
    assert number in decision_mail.subject

    r = _post(product, token, f"{number}/appeal", {"grounds": "Прошу пересмотреть в вышестоящем органе."})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["appeal_number"] == f"A-{number}/2" and r.get_json()["level"] == 2
    supervisor = product.staff_token("supervisor")
    higher = product.wait_task(supervisor, number, "higher_appeal_review")
    assert higher["role"] == "supervisor" and higher["form"] == "higher_appeal_review.schema.json"
    assert not product.tasks(specialist, number=number)
    r = _complete(product, supervisor, higher, {"appeal_decision": "uphold", "appeal_comment": "Решение законно."})
    assert r.status_code == 200, r.get_json()

    def final() -> dict | None:
        view = product.case(token, number)
        outcomes = [a["outcome"] for a in view["appeals"]]
        # the case waits for a resubmission once the decision's notice is out
        return view if outcomes == ["uphold", "uphold"] and "resubmit" in view["actions"] else None

    view = wait_for(final, timeout=60, message="the higher authority's decision")
    assert "appeal" not in view["actions"] and "resubmit" in view["actions"]
    with product.app.app_context():
        levels = [(a.number, a.level) for a in db.session.scalars(select(Appeal).order_by(Appeal.level))
                  if a.number.startswith(f"A-{number}")]
    assert levels == [(f"A-{number}", 1), (f"A-{number}/2", 2)]


def test_appeal_past_its_sla_reminds_the_specialist_and_escalates(product: Product) -> None:
    token = product.citizen_token()
    email = _email_of(product, token)
    number = product.apply(token, "passport_expired")["number"]
    product.wait_status(token, number, "rejected")
    _wait_action(product, token, number, "appeal")
    specialist = product.staff_token("appeals")
    specialist_email = _email_of(product, specialist)
    r = _post(product, token, f"{number}/appeal", {"grounds": "Паспорт продлён, прошу пересмотреть."})
    assert r.status_code == 201, r.get_json()
    assert product.wait_task(specialist, number, "appeal_review")["role"] == "appeals"

    product.pass_timer(number, "appeal_reminder")  # appeal_reminder (5BD) passes undecided
    subject = f"Напоминание: срок рассмотрения жалобы по заявлению № {number}"
    mail = product.smtp.wait_for_mail(specialist_email, timeout=60, subject=subject)
    assert number in mail.subject and "Напоминание" in mail.subject
    wait_for(lambda: "appeal_reminder" in _journal_events(product, number), timeout=30, message="reminder journaled")
    specialist, token = product.login(specialist_email, staff=True), product.login(email)  # a week on: new tokens
    staff_view = product.case(specialist, number)
    assert any(e["event"] == "appeal_reminder" for e in staff_view["journal"])
    assert not any(e["event"] == "appeal_reminder" for e in product.case(token, number)["journal"])

    product.pass_timer(number, "appeal_review_sla")  # then appeal_review (10BD)
    specialist, token = product.login(specialist_email, staff=True), product.login(email)
    supervisor = product.staff_token("supervisor")
    escalated = product.wait_task(supervisor, number, "appeal_escalated", timeout=60)
    assert escalated["role"] == "supervisor" and escalated["form"] == "appeal_review.schema.json"
    assert not product.tasks(specialist, number=number)
    r = _complete(product, supervisor, escalated, {"appeal_decision": "overturn"})
    assert r.status_code == 200, r.get_json()
    assert product.wait_status(token, number, "ready")["status"] == "ready"


def test_needs_info_resubmitted_goes_to_review_due_in_24_hours(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "yo_spelling")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    r = _complete(product, operator, task, {"decision": "request_info",
                                            "explanation": "Уточните написание фамилии: через «е» или «ё»?"})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "needs_info")
    view = _wait_action(product, token, number, "resubmit")
    assert view["request"].startswith("Уточните написание") and "resubmit" in view["actions"]
    assert "appeal" not in view["actions"]

    r = _post(product, token, f"{number}/resubmit", {"comment": "Фамилия пишется через «е», как в паспорте."})
    assert r.status_code == 200, r.get_json()
    resubmitted_at = utcnow()
    again = product.wait_task(operator, number, "operator_review")
    assert again["id"] != task["id"]
    due = parse_iso(again["due_at"])
    assert resubmitted_at + timedelta(hours=23, minutes=55) < due < resubmitted_at + timedelta(hours=24, minutes=1)
    assert _complete(product, operator, again, {"decision": "approve"}).status_code == 200
    view = product.wait_status(token, number, "ready")
    assert view["attempt"] == 2 and view["certificate"]["number"] == f"{number}-2"


def test_unanswered_request_and_unused_refusal_close_the_case(product: Product) -> None:
    token = product.citizen_token()
    email = _email_of(product, token)
    asked = product.apply(token, "yo_spelling")["number"]
    refused = product.apply(token, "no_policy")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, asked, "operator_review")
    r = _complete(product, operator, task, {"decision": "request_info", "explanation": "Приложите копию паспорта."})
    assert r.status_code == 200, r.get_json()
    product.pass_timer(asked, "info_timeout")  # info_wait (30 days) passes with no answer
    product.pass_timer(refused, "rejected_timeout")  # and with no resubmission or appeal
    token = product.login(email)  # a month on: the first token has expired
    for number in (asked, refused):
        view = product.wait_status(token, number, "closed", timeout=60)
        assert set(view["actions"]) <= {"download_receipt", "download_decision"}
        r = _post(product, token, f"{number}/resubmit", {"comment": "Поздно, но всё же"})
        assert r.status_code == 409
        assert r.get_json()["error"]["message"].startswith("Повторно подать заявление можно только")
        assert product.case(token, number)["attempt"] == 1
    appeal = _post(product, token, f"{refused}/appeal", {"grounds": "Не успел, но не согласен"})
    assert appeal.status_code == 409 and "обжаловать" in appeal.get_json()["error"]["message"].lower()

    def closed_notices() -> bool:
        seen = []
        while True:
            try:
                seen.append(product.smtp.wait_for_mail(email, timeout=1))
            except AssertionError:
                break
        notices.extend(seen)
        return sum(1 for m in notices if "закрыт" in (m.subject + m.text).lower()) >= 2

    notices: list = []
    wait_for(closed_notices, timeout=90, interval=0.5, message="two notices of closing")


def test_resubmission_with_a_corrected_snils_is_found_by_it(product: Product) -> None:
    """The staff search reads indexed copies of the application (ФИО, СНИЛС): a new attempt rewrites them."""
    token = product.citizen_token()
    number = product.apply(token, "snils_other_person")["number"]
    product.wait_status(token, number, "rejected")
    _wait_action(product, token, number, "resubmit")
    typed = product.application_body("snils_other_person")["person"]["snils"]
    own = demo_records("snils_other_person")[0]["snils"]
    assert own != typed
    person = {**product.application_body("snils_other_person")["person"], "snils": own}
    r = _post(product, token, f"{number}/resubmit", {"person": person, "comment": "Указал свой СНИЛС"})
    assert r.status_code == 200, r.get_json()
    with product.app.app_context():
        def found(snils: str) -> list[str]:
            return list(db.session.scalars(select(Application.number).where(Application.snils == snils)))

        assert found("".join(ch for ch in own if ch.isdigit())) == [number]
        assert number not in found("".join(ch for ch in typed if ch.isdigit()))


def test_an_attempt_recorded_by_the_web_and_the_process_at_once_is_kept_once(product: Product) -> None:
    """The resubmit request and the diagram's `cases.record_attempt` both store attempt 2; when they overlap,
    the one that inserts second finds the row taken and leaves everything to the first, without an error."""
    token = product.citizen_token()
    number = product.apply(token, "yo_spelling")["number"]
    database = product.app.extensions["backoffice"].database
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        application = {**app.data, "comment_marker": "second attempt"}
    first = database.sessionmaker()  # the request that gets there first, mid-transaction
    first.add(ApplicationAttempt(application_id=app.id, attempt=2, data=application, comment="первая",
                                 document_ids=[], submitted_at=datetime.now(UTC)))
    first.execute(update(Application).where(Application.id == app.id).values(attempt=2, data=application))
    first.flush()
    second_failed: list[BaseException] = []

    def second() -> None:
        try:
            record_attempt(database, number=number, attempt=2, application=application, comment="вторая",
                           documents=[])
        except BaseException as exc:
            second_failed.append(exc)

    if product.backend.kind == "postgres":
        # The second one reads before the first commits, then waits on the unique index for it.
        thread = threading.Thread(target=second)
        thread.start()
        wait_for(lambda: insert_waits_on_lock(database, "application_attempt"), timeout=30, interval=0.05,
                 message="the second insert waiting for the first transaction")
        first.commit()
        thread.join(timeout=30)
    else:  # SQLite lets one writer in at a time, so the race cannot happen: the second finds the first's row
        first.commit()
        second()
    first.close()
    assert second_failed == []
    rows = _attempts(product, number)
    assert [(r.attempt, r.comment) for r in rows] == [(1, None), (2, "первая")]
    with product.app.app_context():
        assert db.session.scalar(select(Application.attempt).where(Application.id == app.id)) == 2
