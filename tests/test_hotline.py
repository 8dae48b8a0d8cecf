"""The hotline: a support specialist files an application for a citizen on a call, over the API, on the real
product (the registry service over HTTP). Identity must match the account and the registry; the case is the
citizen's, shows the channel and who filed it, and nothing is filed when the identity did not match.
"""

from __future__ import annotations

from typing import Any

from tests.support.accounts import bearer, unique_email
from tests.support.product import Product, this_year_period
from tests.support.registry import demo_person


def _citizen(product: Product, scenario: str = "valid", index: int = 0) -> tuple[str, str, dict[str, Any]]:
    """(e-mail, token, application body) of a registered citizen whose account names the demo person."""
    demo = demo_person(scenario, index)
    person = demo["person"]
    email = unique_email("caller")
    token = product.citizen_token(email, last_name=person["last_name"], first_name=person["first_name"],
                                  middle_name=person.get("middle_name"), birth_date=person["birth_date"])
    application = {"applicant": "individual", **{k: v for k, v in demo.items() if v is not None},
                   "period": this_year_period(), "consent": True}
    return email, token, application


def _file(product: Product, token: str, email: str, application: dict[str, Any]) -> Any:
    return product.client().post("/api/v1/hotline/applications", json={"email": email, "application": application},
                                 headers=bearer(token))


def test_a_matching_caller_gets_their_case_with_the_channel(product: Product) -> None:
    email, citizen, application = _citizen(product)
    support = product.staff_token("support")
    r = _file(product, support, email, application)
    assert r.status_code == 201, r.get_json()
    number = r.get_json()["number"]
    assert any(e["event"] == "hotline_filed" for e in r.get_json()["journal"])

    case = product.case(citizen, number)  # the citizen's own case, in their cabinet
    assert case["channel"] == "hotline" and case["filed_by"] == "Петров\u00a0П."
    assert any(e["actor"] == "горячая линия" for e in case["journal"])
    mail = product.smtp.wait_for_mail(email)  # the process's own «принято» notice, with the link
    assert number in mail.subject and f"/applications/{number}" in mail.text
    product.wait_status(citizen, number, "ready")


def test_a_mismatching_identity_files_nothing(product: Product) -> None:
    email, citizen, application = _citizen(product, "valid", 1)
    support = product.staff_token("support")
    other = demo_person("valid", 2)

    wrong_birth = {**application, "person": {**application["person"], "birth_date": "1970-01-01"}}
    r = _file(product, support, email, wrong_birth)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "identity_mismatch"
    assert r.get_json()["error"]["fields"][0]["code"] == "account_mismatch"

    r = _file(product, support, email, {**application, "policy_number": other["policy_number"]})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["code"] == "enp_mismatch"

    no_enp = {k: v for k, v in application.items() if k != "policy_number"}
    r = _file(product, support, email, {**no_enp, "person": {**no_enp["person"], "snils": other["person"]["snils"]}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["code"] == "snils_mismatch"

    r = _file(product, support, unique_email("nobody"), application)
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["code"] == "account_not_found"

    r = _file(product, support, email, {**application, "period": {"from": "2026-05-01"}})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_failed"

    listed = product.client().get("/api/v1/applications", headers=bearer(citizen)).get_json()
    assert listed["items"] == []  # nothing was filed for the citizen


def test_only_support_specialists_file_on_a_call(product: Product) -> None:
    email, citizen, application = _citizen(product, "valid", 3)
    for token in (citizen, *(product.staff_token(role) for role in ("operator", "appeals", "supervisor", "analyst"))):
        r = _file(product, token, email, application)
        assert r.status_code == 403, r.get_json()
    assert product.client().post("/api/v1/hotline/applications", json={}).status_code == 401
