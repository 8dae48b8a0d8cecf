"""The organisation process (workflows/certificate_organization.bpmn) over the JSON API, on real parts.

Requisites in ЕГРЮЛ (DMN organization_decision) -> the employee list -> ЕРЗЛ per employee in batches
(one multi-instance service task) -> the register: issued at once when everyone is insured, confirmed
by an operator when someone is not; refusals with reason codes; a rejected list blocks the case until
a corrected file replaces it; an ЕРЗЛ outage makes the case wait. Both backends; the registry service
over HTTP with the demo dataset (its organisations and policies).
"""

from __future__ import annotations

import io
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from sqlalchemy import select

from engine.calendar import business_days_deadline
from engine.clock import utcnow
from engine.context import build_script_env
from engine.specs import RuntimeBpmnParser
from tasks.cases.employees import check_file, store_checked
from tasks.cases.models.cases import Application
from tasks.config import business_calendar, engine_settings
from tests.support.accounts import bearer, unique_email
from tests.support.backend import wait_for
from tests.support.employees import (
    application_data,
    complete,
    delivered_messages,
    demo_employees,
    employees_csv,
    head_token,
    journal_events,
    page_client,
    submit,
    upload,
    waits_for,
)
from tests.support.pdf import pdf_text
from tests.support.product import Product, this_year_period
from web.extensions import db

DMN = Path(__file__).resolve().parent.parent / "workflows" / "organization_decision.dmn"


# ------------------------------------------------------------------------------------ the DMN table
@pytest.fixture(scope="module")
def decide(tmp_path_factory):
    parser = RuntimeBpmnParser()
    parser.add_dmn_file(str(DMN))
    engine = parser.get_engine("organization_decision", None)
    script_env, _ = build_script_env(engine_settings({"BACKOFFICE_DATA_DIR": str(tmp_path_factory.mktemp("dmn"))}))
    workflow = SimpleNamespace(script_engine=script_env.script_engine())

    def run(check: dict) -> tuple[int, dict]:
        task = SimpleNamespace(data={"organization_check": check}, workflow=workflow)
        matched = DMNEngine.decide(engine, task)
        return len(matched), (matched[0].output_as_dict(task)["verdict"] if matched else {})

    return run


def egrul_domain():
    """Every fact combination registries.check_organization can return."""
    representatives = ("head_confirmed", "head_not_confirmed", "power_of_attorney", None)
    for representative in representatives:
        yield {"found": False, "status": None, "contributions_paid": None, "match": "mismatch", "mismatches": ["inn"],
               "representative": representative}
    for status, paid, match, representative in itertools.product(("active", "liquidated"), (True, False),
                                                                 ("exact", "fuzzy", "mismatch"), representatives):
        yield {"found": True, "status": status, "contributions_paid": paid, "match": match, "mismatches": [],
               "representative": representative}


def test_exactly_one_rule_matches_every_possible_fact(decide) -> None:
    outcomes = set()
    for check in egrul_domain():
        count, verdict = decide(check)
        assert count == 1, check
        outcomes.add(verdict["outcome"])
    assert outcomes == {"continue", "review", "reject"}


ACTIVE = {"found": True, "status": "active", "contributions_paid": True, "match": "exact", "mismatches": [],
          "representative": "head_confirmed"}


@pytest.mark.parametrize(("check", "outcome", "reason"), [
    (ACTIVE, "continue", None),
    ({**ACTIVE, "representative": "head_not_confirmed"}, "review", None),  # says «руководитель», ЕГРЮЛ names another
    ({**ACTIVE, "representative": "power_of_attorney"}, "review", None),  # an operator looks at the scan
    ({**ACTIVE, "representative": None}, "review", None),
    ({**ACTIVE, "match": "fuzzy"}, "review", None),
    ({**ACTIVE, "match": "mismatch"}, "reject", "personal_data_mismatch"),
    ({"found": False, "status": None, "contributions_paid": None, "match": "mismatch"}, "reject",
     "personal_data_mismatch"),
    ({**ACTIVE, "status": "liquidated"}, "reject", "no_insurance_record"),
    ({**ACTIVE, "status": "liquidated", "contributions_paid": False}, "reject", "no_insurance_record"),
    ({**ACTIVE, "contributions_paid": False}, "reject", "contributions_unpaid"),
    ({**ACTIVE, "contributions_paid": False, "match": "fuzzy"}, "reject", "contributions_unpaid"),
])
def test_the_decision_in_each_situation(decide, check, outcome, reason) -> None:
    count, verdict = decide(check)
    assert count == 1 and verdict["outcome"] == outcome and verdict["reason"] == reason
    if outcome == "reject":
        assert verdict["note"]
    if reason == "no_insurance_record":
        assert verdict["note"] == "Организация ликвидирована."


# ------------------------------------------------------------------------------------ helpers
def register_files(product: Product, token: str, number: str) -> tuple[str, openpyxl.Workbook]:
    pdf = product.client().get(f"/api/v1/applications/{number}/register.pdf", headers=bearer(token))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf", pdf.get_data()[:300]
    xlsx = product.client().get(f"/api/v1/applications/{number}/register.xlsx", headers=bearer(token))
    assert xlsx.status_code == 200, xlsx.get_data()[:300]
    return " ".join(pdf_text(pdf.data).split()), openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)


def xlsx_text(book: openpyxl.Workbook) -> str:
    return " ".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
                    if v is not None)


# ------------------------------------------------------------------------------------ the process
def test_all_insured_the_register_is_issued_and_sent(product: Product) -> None:
    token = head_token(product)
    staff = demo_employees(insured=4)
    # ЕГРЮЛ answers slowly: the list is there before the process asks for it, so no message is needed.
    with product.registry.faults_set("egrul:latency_ms=1500"):
        number = submit(product, token)
        r = upload(product, token, number, employees_csv(staff))
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == {"status": "accepted", "version": 1, "total_rows": 4, "accepted": 4, "rejected": []}
        view = product.wait_status(token, number, "ready", "rejected")
    assert view["status"] == "ready", view
    assert "employees_accepted" not in delivered_messages(product, number)

    text, book = register_files(product, token, number)
    for person in staff:
        assert person["enp"] in text and person["enp"] in xlsx_text(book)
    assert "Ромашка" in text
    listed = product.client().get(f"/api/v1/applications/{number}/employees", headers=bearer(token)).get_json()
    assert listed["status"] == "accepted" and listed["results"] == {"insured": 4, "not_insured": 0, "unchecked": 0}
    events = journal_events(product, number)
    assert "employees_checked" in events and events.count("employees_uploaded") == 1
    mail = product.smtp.wait_for_mail("hr@example.ru", timeout=60)
    assert number in mail.subject

    late = upload(product, token, number, employees_csv(staff))
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "list_locked"


def test_an_applicant_egrul_does_not_name_as_head_waits_for_an_operator(product: Product) -> None:
    token = product.citizen_token()  # «Иванов Сергей» says he is the head; ЕГРЮЛ names Соколова А. И.
    number = submit(product, token)
    assert upload(product, token, number, employees_csv(demo_employees(insured=2))).status_code == 200
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "organization_review")
    assert task["role"] == "operator"
    assert product.case(token, number)["status"] != "ready"  # the list waits for the operator's decision
    assert complete(product, operator, task, {"decision": "approve"}).status_code == 200
    assert product.wait_status(token, number, "ready")["status"] == "ready"


def test_some_uninsured_an_operator_confirms_the_register(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    staff = demo_employees(insured=2, expired=1, unknown=1)
    assert upload(product, token, number, employees_csv(staff)).status_code == 200
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "confirm_register")
    assert task["role"] == "operator" and task["due_at"]
    assert "из 4 работников не застрахованы 2" in task["instructions"]
    rows = product.client().get(f"/api/v1/applications/{number}/employees/rows?result=not_insured",
                                headers=bearer(operator)).get_json()
    assert rows["total"] == 2 and all(r["reason"] for r in rows["items"])
    assert {r["enp"] for r in rows["items"]} == {staff[2]["enp"], staff[3]["enp"]}
    r = complete(product, operator, task, {"decision": "confirm"})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "ready")
    text, _ = register_files(product, token, number)
    for person in staff:
        assert person["enp"] in text
    assert "не найден" in text  # the unknown ЕНП's reason


def test_the_register_confirmation_is_due_in_one_business_day(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    before = utcnow()
    assert upload(product, token, number, employees_csv(demo_employees(insured=1, unknown=1))).status_code == 200
    task = product.wait_task(product.staff_token("operator"), number, "confirm_register")
    after = utcnow()
    due = datetime.fromisoformat(task["due_at"])
    # sla("operator_review") = 1BD: the same local time on the next Russian business day.
    assert business_days_deadline(1, before, calendar=business_calendar()) <= due <= business_days_deadline(
        1, after, calendar=business_calendar()), (before, due, after)
    assert due - before >= timedelta(hours=24)  # a business day, never less than a calendar one


def test_an_unconfirmed_register_escalates_to_the_supervisor(product: Product) -> None:
    email = unique_email("head")
    token = head_token(product, email=email)
    number = submit(product, token)
    assert upload(product, token, number, employees_csv(demo_employees(insured=1, expired=1))).status_code == 200
    product.pass_timer(number, "confirm_register_sla")  # operator_review (1BD) passes unconfirmed
    supervisor = product.staff_token("supervisor")
    task = product.wait_task(supervisor, number, "supervisor_confirm_register", timeout=60)
    assert task["role"] == "supervisor"
    operator = product.staff_token("operator")
    assert not product.tasks(operator, number=number)
    assert complete(product, supervisor, task, {"decision": "confirm"}).status_code == 200
    token = product.login(email)  # a day later: the first token has expired
    assert product.wait_status(token, number, "ready")["status"] == "ready"


@pytest.mark.parametrize(("typed", "operator_looks"), [
    ('общество с ограниченной ответственностью "РОМАШКА"', False),  # case, quotes, the legal form spelled out
    ("Ромашка, ООО", False),
    ("«Ромашка»", True),  # the legal form left out: the same name, probably - an operator decides
])
def test_a_name_written_differently_agrees_with_egrul(product: Product, typed: str, operator_looks: bool) -> None:
    token = head_token(product)
    number = submit(product, token, name=typed)
    assert upload(product, token, number, employees_csv(demo_employees(insured=1))).status_code == 200
    if operator_looks:
        operator = product.staff_token("operator")
        task = product.wait_task(operator, number, "organization_review")
        assert "не полностью" in task["instructions"]
        assert complete(product, operator, task, {"decision": "approve"}).status_code == 200
    assert product.wait_status(token, number, "ready", "rejected")["status"] == "ready"
    assert ("task_ready" in journal_events(product, number)) is operator_looks


@pytest.mark.parametrize(("short_name", "reason"), [("ООО «Старт»", "no_insurance_record"),
                                                    ("ООО «Вектор-Строй»", "contributions_unpaid")])
def test_organisation_refused_by_egrul_facts(product: Product, short_name: str, reason: str) -> None:
    token = head_token(product, short_name)
    # ЕГРЮЛ answers slowly: the list is in before the process reads the refusing facts (a worker that is
    # already running would otherwise refuse the case before the upload, which then gets 409).
    with product.registry.faults_set("egrul:latency_ms=1500"):
        number = submit(product, token, short_name)
        assert upload(product, token, number, employees_csv(demo_employees(insured=1))).status_code == 200
    view = product.wait_status(token, number, "rejected", "ready")
    assert view["status"] == "rejected"
    assert [r["code"] for r in view["reasons"]] == [reason]
    if reason == "no_insurance_record":
        assert view["reasons"][0]["note"] == "Организация ликвидирована."
    assert "employees_checked" not in journal_events(product, number)


def test_a_refused_case_is_resubmitted_with_a_corrected_list(product: Product) -> None:
    client, token = page_client(product)
    number = submit(product, token)
    assert upload(product, token, number, employees_csv(demo_employees(insured=2, expired=1))).status_code == 200
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "confirm_register")
    r = complete(product, operator, task, {"decision": "reject", "reasons": ["no_insurance_record"],
                                           "explanation": "У одного работника полис недействителен."})
    assert r.status_code == 200, r.get_json()
    view = product.wait_status(token, number, "rejected")
    assert [x["code"] for x in view["reasons"]] == ["no_insurance_record"]
    view = wait_for(lambda: (v := product.case(token, number)) and "resubmit" in v["actions"] and v,
                    timeout=60, message="the case to offer a resubmission")

    # The resubmission page offers the organisation's requisites (not a person's passport).
    page = client.get(f"/applications/{number}/resubmit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "ИНН организации" in html and "Паспорт" not in html

    # While the case waits for a resubmission the list may be replaced; the resubmission checks it again.
    fixed = demo_employees(insured=3)
    r = upload(product, token, number, employees_csv(fixed))
    assert r.status_code == 200 and r.get_json()["status"] == "accepted" and r.get_json()["version"] == 2
    # A resubmission cannot switch to a power of attorney without its scan on the case...
    before = application_data(product, number)
    r = product.client().post(f"/api/v1/applications/{number}/resubmit", headers=bearer(token), json={
        "representative": {"authority": "power_of_attorney",
                           "power_of_attorney": {"number": "77 АА 1234567", "issued_on": this_year_period()["from"]}}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "documents.power_of_attorney"
    assert application_data(product, number) == before
    # ...nor pass for someone else: the representative's ФИО always comes from the account.
    r = product.client().post(f"/api/v1/applications/{number}/resubmit", headers=bearer(token), json={
        "comment": "Заменили список работников", "representative": {"full_name": "Соколова Анна Игоревна"}})
    assert r.status_code == 200, r.get_json()
    assert application_data(product, number)["representative"]["full_name"] == before["representative"]["full_name"]
    assert r.get_json()["attempt"] == 2 and r.get_json()["number"] == number
    view = product.wait_status(token, number, "ready", "rejected")
    assert view["status"] == "ready" and view["attempt"] == 2
    text, _ = register_files(product, token, number)
    assert all(p["enp"] in text for p in fixed)
    bad = product.client().post(f"/api/v1/applications/{number}/resubmit", headers=bearer(token),
                                json={"person": {"last_name": "Иванов"}})
    assert bad.status_code == 409


def test_an_overturned_appeal_issues_the_register(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    staff = demo_employees(insured=1, unknown=1)
    assert upload(product, token, number, employees_csv(staff)).status_code == 200
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "confirm_register")
    assert complete(product, operator, task, {"decision": "reject", "reasons": ["policy_not_found"],
                                              "explanation": "Полис работника не найден."}).status_code == 200
    product.wait_status(token, number, "rejected")
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, message="the appeal action")
    r = product.client().post(f"/api/v1/applications/{number}/appeal", headers=bearer(token),
                              json={"grounds": "Работник получил полис, сведения в ЕРЗЛ обновятся."})
    assert r.status_code == 201, r.get_json()
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    r = complete(product, specialist, task, {"appeal_decision": "overturn", "appeal_comment": "Реестр выдать."})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "ready")
    # The appeal decided about the uninsured employee: no second confirmation by an operator.
    assert not product.tasks(operator, number=number)
    text, _ = register_files(product, token, number)
    assert staff[1]["enp"] in text


def test_a_list_replaced_before_an_overturned_appeal_is_confirmed_by_an_operator(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    assert upload(product, token, number, employees_csv(demo_employees(insured=1, unknown=1))).status_code == 200
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "confirm_register")
    assert complete(product, operator, task, {"decision": "reject", "reasons": ["policy_not_found"],
                                              "explanation": "Полис работника не найден."}).status_code == 200
    product.wait_status(token, number, "rejected")
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, message="the appeal action")
    # A new list, with other uninsured people, replaces the one the appeal is about.
    replaced = upload(product, token, number, employees_csv(demo_employees(insured=1, unknown=2)))
    assert replaced.status_code == 200 and replaced.get_json()["version"] == 2
    r = product.client().post(f"/api/v1/applications/{number}/appeal", headers=bearer(token),
                              json={"grounds": "Работник получил полис, сведения в ЕРЗЛ обновятся."})
    assert r.status_code == 201, r.get_json()
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    assert complete(product, specialist, task, {"appeal_decision": "overturn"}).status_code == 200
    # The appeal decided about the first list only: an operator confirms the replaced one.
    task = product.wait_task(operator, number, "confirm_register")
    assert "из 3 работников не застрахованы 2" in task["instructions"]


def test_an_erzl_outage_makes_the_case_wait_and_it_completes_afterwards(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    with product.registry.faults_set("erzl:down"):
        assert upload(product, token, number, employees_csv(demo_employees(insured=2))).status_code == 200
        wait_for(lambda: "service_failed" in journal_events(product, number), timeout=90,
                 message="a failed ЕРЗЛ batch call")
        assert product.case(token, number)["status"] == "in_progress"
        assert "employees_checked" not in journal_events(product, number)
    view = product.wait_status(token, number, "ready", "rejected", timeout=120)
    assert view["status"] == "ready"


def test_egrul_down_past_registry_wait_goes_to_an_operator_who_checks_by_hand(product: Product) -> None:
    token = head_token(product)
    with product.registry.faults_set("egrul:down"):
        number = submit(product, token)
        assert upload(product, token, number, employees_csv(demo_employees(insured=2))).status_code == 200
        product.pass_timer(number, "checks_timeout")  # registry_wait (4 hours) of outage
        operator = product.staff_token("operator")
        task = product.wait_task(operator, number, "manual_verification", timeout=60)
        assert task["role"] == "operator" and "7798102639" in task["instructions"]
    assert complete(product, operator, task, {"decision": "approve"}).status_code == 200
    view = product.wait_status(token, number, "ready", "rejected")
    assert view["status"] == "ready"


def test_a_list_whose_message_was_lost_is_found_when_the_case_asks_again(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    wait_for(lambda: waits_for(product, number, "employees_accepted"), timeout=60, message="the wait for the list")
    # Stored as an upload stores it, but the message to the process never goes out (a request that died).
    services = product.app.extensions["backoffice"]
    config = product.app.extensions["backoffice_config"]
    data = employees_csv(demo_employees(insured=2))
    with product.app.app_context():
        owner = db.session.scalar(select(Application.owner_id).where(Application.number == number))
    stored = store_checked(services.database, config, number=number, uploader_id=owner, filename="работники.csv",
                           data=data, checked=check_file(data, "работники.csv"))
    assert stored.status == "accepted"
    product.pass_timer(number, "list_recheck")  # list_recheck (an hour): the case asks again
    assert product.wait_status(token, number, "ready", "rejected", timeout=90)["status"] == "ready"
