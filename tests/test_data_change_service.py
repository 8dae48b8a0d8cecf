"""The change-of-data service («Изменение данных в полисе ОМС») over the API, end to end (both backends).

A citizen whose surname changed with a new passport asks for the record of their policy to be changed:
МВД confirms the new passport and ФИО, ЕРЗЛ finds the policy, the DMN table decides, and the registry
operator writes the change into ЕРЗЛ. Each product test that changes the registry runs on a registry of
its own (`change_product`, tests/support/data_change.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from sqlalchemy import select

from backoffice.registry.app import create_registry_app
from engine.context import build_script_env
from engine.models import ServiceCall
from engine.specs import RuntimeBpmnParser
from tasks.cases.models.cases import Application
from tasks.config import engine_settings
from tests.support.accounts import add_user, bearer, login
from tests.support.appeals import post_case
from tests.support.backend import wait_for
from tests.support.data_change import (
    ENP,
    NEW_PASSPORT,
    OLD_PASSPORT,
    apply_change,
    change_body,
    erzl_policy,
    mvd_passport,
)
from tests.support.pdf import pdf_text
from tests.support.product import Product
from tests.support.registry import DEMO_DATA
from web.extensions import db

DMN = Path(__file__).resolve().parent.parent / "workflows" / "personal_data_change_decision.dmn"


def staff_journal(product: Product, number: str) -> list[dict[str, Any]]:
    supervisor = product.staff_token("supervisor")
    r = product.client().get(f"/api/v1/applications/{number}", headers=bearer(supervisor))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["journal"]


def test_confirmed_change_reaches_the_registry_record(change_product: Product) -> None:
    product, registry = change_product, change_product.registry
    assert erzl_policy(registry)["holder"]["last_name"] == "Белова"
    token = product.citizen_token()
    created = apply_change(product, token)
    assert created["service"] == "personal_data_change" and created["service_title"] == "Изменение данных в полисе ОМС"
    number = created["number"]
    view = product.wait_status(token, number, "approved", "rejected")
    assert view["status"] == "approved" and view["status_label"] == "Одобрено", view.get("reasons")
    assert any(e["event"] == "personal_data_updated" for e in staff_journal(product, number))
    holder = erzl_policy(registry)["holder"]
    assert (holder["last_name"], holder["first_name"], holder["middle_name"]) == ("Лебедева", "Ксения", "Андреевна")
    new = mvd_passport(registry, NEW_PASSPORT)
    assert new["status"] == "valid" and new["holder"]["last_name"] == "Лебедева"
    old = mvd_passport(registry, OLD_PASSPORT)  # still findable, as replaced and under the name it was issued to
    assert old["status"] == "replaced" and old["holder"]["last_name"] == "Белова"

    listed = product.client().get("/api/v1/applications", headers=bearer(token)).get_json()["items"]
    mine = next(item for item in listed if item["number"] == number)
    assert mine["service_title"] == "Изменение данных в полисе ОМС" and mine["status"] == "approved"
    mail = product.smtp.wait_for_mail(_email(product, token), subject=f"Заявление № {number}: Одобрено")
    assert "внесены в единый регистр застрахованных лиц" in mail.text
    receipt = product.client().get(f"/api/v1/applications/{number}/receipt.pdf", headers=bearer(token))
    assert receipt.status_code == 200
    text = " ".join(pdf_text(receipt.data).split())
    assert "Изменение персональных данных застрахованного лица" in text and "период" not in text


def test_surname_not_on_the_passport_is_refused_and_the_appeal_overturns_it(change_product: Product) -> None:
    product, registry = change_product, change_product.registry
    token = product.citizen_token()
    number = apply_change(product, token, last_name="Петрова")["number"]
    view = product.wait_status(token, number, "rejected", "approved")
    assert view["status"] == "rejected"
    assert [r["code"] for r in view["reasons"]] == ["personal_data_mismatch"]
    assert "не совпадают с данными владельца паспорта" in view["reasons"][0]["note"]
    assert erzl_policy(registry)["holder"]["last_name"] == "Белова"  # a refusal writes nothing
    # The refusal says what this service refused, not the certificate's «в выдаче справки».
    mail = product.smtp.wait_for_mail(_email(product, token),
                                      subject=f"Заявление № {number}: отказ во внесении изменений")
    assert "об отказе во внесении изменений в единый регистр застрахованных лиц" in mail.text
    assert "справк" not in mail.subject
    decision = product.client().get(f"/api/v1/applications/{number}/decision.pdf", headers=bearer(token))
    assert decision.status_code == 200
    text = " ".join(pdf_text(decision.data).split())
    assert "об отказе во внесении изменений в единый регистр застрахованных лиц" in text
    assert "во внесении изменений отказано по следующим основаниям" in text and "выдаче справки" not in text
    assert "чтобы изменить данные в полисе, нужно будет подать новое заявление" in text
    submitted = product.smtp.wait_for_mail(_email(product, token), subject=f"Заявление № {number} принято")
    assert "заявление № " + number + " об изменении данных в полисе ОМС принято" in submitted.text
    case_page = _citizen_page(product, token, f"/applications/{number}")
    assert "В изменении данных отказано" in case_page and "справк" not in _main(case_page).lower()
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, interval=0.3,
             message="the appeal offered")

    filed = post_case(product, token, number, "appeal", {"grounds": "Фамилия в паспорте — Петрова, МВД ошиблось."})
    assert filed.status_code == 201, filed.get_json()
    assert product.case(token, number)["status"] == "appealed"
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    # The shared chain's review form in this service's words, without the certificate's policy block.
    review = _staff_page(product, "appeals", f"/inbox/tasks/{task['id']}")
    assert "отменить отказ и внести новые данные в единый регистр застрахованных лиц" in review
    task_id = task["id"]
    form = review[review.index(f'action="/inbox/tasks/{task_id}/complete"'):]
    form = form[:form.index("</form>")]
    assert 'id="f-policy' not in form and "справк" not in _main(review).lower()
    r = product.client().post(f"/api/v1/tasks/{task['id']}/complete", headers=bearer(specialist),
                              json={"appeal_decision": "overturn", "appeal_comment": "Данные подтверждены МВД."})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "approved")
    assert erzl_policy(registry)["holder"]["last_name"] == "Петрова"  # the overturned case's change
    appeal = wait_for(lambda: (a := product.case(token, number)["appeals"][0])["outcome"] and a, timeout=30,
                      message="the appeal's decision recorded")
    assert appeal["outcome"] == "overturn"


def test_doubtful_case_goes_to_the_operator_and_waits_out_an_erzl_outage(change_product: Product) -> None:
    product, registry = change_product, change_product.registry
    token = product.citizen_token()
    passport = {**change_body()["person"]["passport"], "issued_on": "2025-06-18"}  # МВД says 17.06.2025
    number = apply_change(product, token, passport=passport)["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    assert task["role"] == "operator" and "Дата выдачи или код подразделения" in task["instructions"]
    complete = f"/api/v1/tasks/{task['id']}/complete"
    refused = product.client().post(complete, json={"decision": "reject"}, headers=bearer(operator))
    assert refused.status_code == 422  # a refusal needs its reasons and an explanation
    assert {f["field"] for f in refused.get_json()["error"]["fields"]} == {"reasons", "explanation"}

    with registry.faults_set("erzl:down"):
        r = product.client().post(complete, json={"decision": "approve"}, headers=bearer(operator))
        assert r.status_code == 200, r.get_json()
        wait_for(lambda: any(c["attempts"] >= 2 and c["status"] != "done" for c in _calls(product, number)),
                 timeout=60, message="the write retried while ЕРЗЛ is down")
        assert product.case(token, number)["status"] == "in_progress"  # «Одобрено» only once written
        assert not any(e["event"] == "personal_data_updated" for e in staff_journal(product, number))
    product.wait_status(token, number, "approved")
    assert any(e["event"] == "personal_data_updated" for e in staff_journal(product, number))
    assert erzl_policy(registry)["holder"]["last_name"] == "Лебедева"


def _calls(product: Product, number: str) -> list[dict[str, Any]]:
    """The case's outbox calls of the registry write: status and attempts so far."""
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        rows = db.session.scalars(select(ServiceCall).where(ServiceCall.instance_id == app.instance_id,
                                                            ServiceCall.operator == "registry.update_personal_data"))
        return [{"status": row.status, "attempts": row.attempts} for row in rows]


def test_others_get_404_and_other_roles_403(change_product: Product) -> None:
    product = change_product
    owner, stranger = product.citizen_token(), product.citizen_token()
    passport = {**change_body()["person"]["passport"], "division_code": "770-046"}  # to the operator's inbox
    number = apply_change(product, owner, passport=passport)["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    for path in (f"/api/v1/applications/{number}", f"/api/v1/applications/{number}/receipt.pdf"):
        assert product.client().get(path, headers=bearer(stranger)).status_code == 404, path
    assert post_case(product, stranger, number, "appeal", {"grounds": "Чужая жалоба"}).status_code == 404
    assert post_case(product, stranger, number, "resubmit", {"comment": "Чужие данные"}).status_code == 404

    assert product.client().post("/api/v1/applications", json=change_body(),
                                 headers=bearer(operator)).status_code == 403  # staff do not apply
    assert product.client().get("/api/v1/tasks", headers=bearer(owner)).status_code == 403
    specialist = product.staff_token("appeals")  # another lane's role
    r = product.client().post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(specialist))
    assert r.status_code in (403, 404), r.get_json()
    r = product.client().post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"},
                              headers=bearer(specialist))
    assert r.status_code in (403, 404), r.get_json()
    assert product.wait_task(operator, number, "operator_review")["id"] == task["id"]  # still open


def test_bad_applications_are_refused_field_by_field(product: Product) -> None:
    token = product.citizen_token()
    unknown = product.client().post("/api/v1/applications", json={**change_body(), "service": "no_such_service"},
                                    headers=bearer(token))
    assert unknown.status_code == 422
    assert [f["field"] for f in unknown.get_json()["error"]["fields"]] == ["service"]
    body = change_body()
    del body["change_reason"]
    body["policy_number"] = ENP[:-1] + str((int(ENP[-1]) + 1) % 10)
    r = product.client().post("/api/v1/applications", json=body, headers=bearer(token))
    assert r.status_code == 422
    fields = {f["field"]: f["code"] for f in r.get_json()["error"]["fields"]}
    assert fields == {"change_reason": "required", "policy_number": "checksum"}
    assert product.client().get("/api/v1/applications", headers=bearer(token)).get_json()["total"] == 0


def _email(product: Product, token: str) -> str:
    return product.client().get("/api/v1/auth/me", headers=bearer(token)).get_json()["email"]


def _citizen_page(product: Product, token: str, path: str) -> str:
    """The page as the token's citizen sees it, logged in through the login page."""
    client = product.client()
    assert login(client, _email(product, token)).status_code == 302
    r = client.get(path)
    assert r.status_code == 200, path
    return r.get_data(as_text=True)


def _main(html: str) -> str:
    """The page's own content, without the portal's name in the header."""
    return html[html.index("<main"):html.index("</main>")]


def _staff_page(product: Product, role: str, path: str) -> str:
    client = product.client()
    assert login(client, add_user(product.app, role)).status_code == 302
    r = client.get(path)
    assert r.status_code == 200, path
    return r.get_data(as_text=True)


# The registry stand-in's write endpoint, on the app itself.

@pytest.fixture
def registry_app_client():
    return create_registry_app(DEMO_DATA).test_client()


def _change_request(**changes: Any) -> dict[str, Any]:
    person = change_body()["person"]
    return {"enp": ENP, "birth_date": person["birth_date"], "last_name": person["last_name"],
            "first_name": person["first_name"], "middle_name": person["middle_name"],
            "passport": person["passport"], **changes}


def test_registry_write_is_idempotent_and_checks_its_input(registry_app_client) -> None:
    client = registry_app_client
    first = client.post("/erzl/personal-data", json=_change_request())
    assert first.status_code == 200 and first.get_json()["changed"] is True
    assert first.get_json()["holder"]["last_name"] == "Лебедева"
    assert first.get_json()["passport"]["number"] == NEW_PASSPORT[1]
    again = client.post("/erzl/personal-data", json=_change_request())
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert client.post("/erzl/policy", json={"enp": ENP}).get_json()["holder"]["last_name"] == "Лебедева"

    unknown = client.post("/erzl/personal-data", json=_change_request(birth_date="1994-08-22"))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    for broken in (_change_request(enp="123"), _change_request(last_name="Smith"),
                   _change_request(passport={**_change_request()["passport"], "division_code": "770045"})):
        r = client.post("/erzl/personal-data", json=broken)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request", broken
    assert client.post("/erzl/policy", json={"enp": ENP}).get_json()["holder"]["last_name"] == "Лебедева"


# The decision table, over its whole input domain.

MATCH = ("exact", "fuzzy", "partial", "mismatch")


@pytest.fixture(scope="module")
def decide(tmp_path_factory):
    parser = RuntimeBpmnParser()
    parser.add_dmn_file(str(DMN))
    engine = parser.get_engine("personal_data_change_decision", None)
    script_env, _ = build_script_env(engine_settings({"BACKOFFICE_DATA_DIR": str(tmp_path_factory.mktemp("dmn"))}))
    workflow = SimpleNamespace(script_engine=script_env.script_engine())

    def run(passport: dict, policy: dict) -> tuple[int, dict]:
        task = SimpleNamespace(data={"passport_check": passport, "policy_check": policy}, workflow=workflow)
        matched = DMNEngine.decide(engine, task)
        return len(matched), (matched[0].output_as_dict(task)["verdict"] if matched else {})

    return run


def _domain():
    passports = [{"found": False}] + [{"found": True, "status": s, "holder_match": m, "document_match": d}
                                      for s in ("valid", "expired", "replaced", "lost") for m in MATCH
                                      for d in ("exact", "mismatch")]
    mismatches = ([], ["last_name"], ["snils"], ["birth_date"], ["last_name", "snils"])
    policies = [{"found": False}] + [{"found": True, "status": st, "holder_match": "mismatch" if mm else "exact",
                                      "mismatches": list(mm)}
                                     for st in ("active", "expired", "annulled") for mm in mismatches]
    return itertools.product(passports, policies)


def test_exactly_one_rule_decides_every_input(decide) -> None:
    outcomes = set()
    for passport, policy in _domain():
        count, verdict = decide(passport, policy)
        assert count == 1, (passport, policy, count)
        outcomes.add(verdict["outcome"])
        if verdict["outcome"] == "reject":
            assert verdict["reason"] in ("personal_data_mismatch", "policy_not_found"), verdict
        assert verdict["note"]
    assert outcomes == {"update", "reject", "review"}


@pytest.mark.parametrize(("passport", "policy", "expected"), [
    ({"found": True, "status": "valid", "holder_match": "exact", "document_match": "exact"},
     {"found": True, "status": "active", "mismatches": ["last_name"]}, ("update", None)),
    ({"found": True, "status": "valid", "holder_match": "mismatch", "document_match": "exact"},
     {"found": True, "status": "active", "mismatches": []}, ("reject", "personal_data_mismatch")),
    ({"found": False}, {"found": True, "status": "active", "mismatches": []}, ("reject", "personal_data_mismatch")),
    ({"found": True, "status": "valid", "holder_match": "exact", "document_match": "exact"},
     {"found": False}, ("reject", "policy_not_found")),
    ({"found": True, "status": "valid", "holder_match": "exact", "document_match": "exact"},
     {"found": True, "status": "active", "mismatches": ["snils"]}, ("reject", "personal_data_mismatch")),
    ({"found": True, "status": "valid", "holder_match": "fuzzy", "document_match": "exact"},
     {"found": True, "status": "active", "mismatches": []}, ("review", None)),
    ({"found": True, "status": "valid", "holder_match": "exact", "document_match": "mismatch"},
     {"found": True, "status": "active", "mismatches": []}, ("review", None)),
    ({"found": True, "status": "valid", "holder_match": "exact", "document_match": "exact"},
     {"found": True, "status": "annulled", "mismatches": []}, ("review", None)),
])
def test_what_the_table_decides(decide, passport, policy, expected) -> None:
    _, verdict = decide(passport, policy)
    assert (verdict["outcome"], verdict["reason"]) == expected
