"""Colleague access to an organisation's cases: 404 without a grant, read-only with one, 404 after revoking
(JSON API and pages, both backends)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import journal
from tasks.cases.models import Application
from tests.support.accounts import bearer, csrf_token, login, unique_email
from tests.support.product import Product
from tests.test_organization_requisites import org_body
from web.extensions import db


def _apply(product: Product, token: str, short_name: str = "ООО «Ромашка»") -> str:
    r = product.client().post("/api/v1/applications", json=org_body(short_name), headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["number"]


def _account(product: Product, **person: Any) -> tuple[str, str]:
    email = unique_email("colleague")
    return email, product.citizen_token(email, **person)


def _get(product: Product, token: str, url: str) -> Any:
    return product.client().get(url, headers=bearer(token))


def _grant(product: Product, token: str, number: str, **body: Any) -> Any:
    return product.client().post(f"/api/v1/applications/{number}/grants", json=body, headers=bearer(token))


def _events(product: Product, number: str) -> list[journal.JournalRecord]:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        return list(journal.read(db.session, app.instance_id))


def test_colleague_reads_a_case_only_while_granted(product: Product):
    _, owner = _account(product)
    colleague_email, colleague = _account(product, last_name="Белова", first_name="Ирина")
    number = _apply(product, owner)
    case_url = f"/api/v1/applications/{number}"
    assert _get(product, colleague, case_url).status_code == 404
    assert _get(product, colleague, f"{case_url}/grants").status_code == 404
    assert _grant(product, colleague, number, email=colleague_email).status_code == 404  # not the owner's

    r = _grant(product, owner, number, email=colleague_email.upper())
    assert r.status_code == 201, r.get_json()
    grant = r.get_json()
    assert (grant["email"], grant["full_name"], grant["scope"]) == (colleague_email, "Белова Ирина", "case")
    assert _get(product, owner, f"{case_url}/grants").get_json()["items"] == [grant]

    seen = _get(product, colleague, case_url)
    assert seen.status_code == 200 and seen.get_json()["number"] == number
    assert all(a.startswith("download_") for a in seen.get_json()["actions"])
    assert _get(product, colleague, f"{case_url}/receipt.pdf").status_code == 200
    shared = _get(product, colleague, "/api/v1/organizations/applications").get_json()["items"]
    assert [c["number"] for c in shared] == [number]
    # Reading only: the owner's actions and the grants stay the owner's.
    r = product.client().post(f"{case_url}/resubmit", json={"comment": "x"}, headers=bearer(colleague))
    assert r.status_code == 404
    assert product.client().post(f"{case_url}/appeal", json={"grounds": "x"}, headers=bearer(colleague)).status_code \
        == 404
    assert _get(product, colleague, f"{case_url}/grants").status_code == 404

    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(colleague)).status_code == 404
    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(owner)).status_code == 204
    assert _get(product, colleague, case_url).status_code == 404
    assert _get(product, colleague, "/api/v1/organizations/applications").get_json()["items"] == []
    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(owner)).status_code == 404
    assert _get(product, owner, f"{case_url}/grants").get_json()["items"] == []

    events = _events(product, number)
    granted = [e for e in events if e.event == "access_granted"]
    assert [(e.details["grant"], e.details["scope"], e.message) for e in granted] == [
        (grant["id"], "case", f"Открыт доступ на чтение: {colleague_email} (только это заявление)")]
    assert [e.details["grant"] for e in events if e.event == "access_revoked"] == [grant["id"]]
    reader = f"user:{granted[0].details['grantee']}"
    assert any(e.event == "case_viewed" and e.actor == reader for e in events)  # the colleague's reading


def test_a_grant_to_all_the_organisations_cases(product: Product):
    _, owner = _account(product)
    colleague_email, colleague = _account(product)
    _, other_representative = _account(product)
    first, second = _apply(product, owner), _apply(product, owner)
    elsewhere = _apply(product, owner, "АО «Северный трубный завод»")
    someone_elses = _apply(product, other_representative)  # the same organisation, another applicant
    r = _grant(product, owner, first, email=colleague_email, scope="organization")
    assert r.status_code == 201 and r.get_json()["scope"] == "organization"
    later = _apply(product, owner)
    for number in (first, second, later):
        assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 200, number
    for number in (elsewhere, someone_elses):
        assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 404, number
    shared = {c["number"] for c in _get(product, colleague, "/api/v1/organizations/applications").get_json()["items"]}
    assert shared == {first, second, later}
    # The organisation-wide grant shows on every case it covers, and is revoked from any of them.
    items = _get(product, owner, f"/api/v1/applications/{later}/grants").get_json()["items"]
    assert [g["id"] for g in items] == [r.get_json()["id"]]
    again = _grant(product, owner, second, email=colleague_email)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_granted"
    assert product.client().delete(f"/api/v1/applications/{later}/grants/{items[0]['id']}",
                                   headers=bearer(owner)).status_code == 204
    for number in (first, second, later):
        assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 404, number


def test_grants_that_cannot_be_given(product: Product):
    owner_email, owner = _account(product)
    _, colleague = _account(product)
    number = _apply(product, owner)

    def refused(**body: Any) -> tuple[int, dict]:
        r = _grant(product, owner, number, **body)
        return r.status_code, r.get_json()["error"]

    status, error = refused(email="nobody-here@example.ru")
    assert status == 422 and error["fields"][0]["field"] == "email"
    assert error["fields"][0]["code"] == "unknown_account"
    assert refused(email="не адрес")[1]["fields"][0]["code"] == "format"
    assert refused()[1]["fields"] == [{"field": "email", "code": "required",
                                       "message": "Укажите адрес электронной почты коллеги"}]
    assert refused(email=owner_email)[1]["fields"][0]["code"] == "self"
    staff = product.staff_token("operator")
    staff_email = product.client().get("/api/v1/auth/me", headers=bearer(staff)).get_json()["email"]
    assert refused(email=staff_email)[1]["fields"][0]["code"] == "unknown_account"  # staff read cases anyway
    colleague_email = product.client().get("/api/v1/auth/me", headers=bearer(colleague)).get_json()["email"]
    assert refused(email=colleague_email, scope="everything")[1]["fields"][0]["field"] == "scope"
    person_case = product.apply(owner, "valid")["number"]
    r = _grant(product, owner, person_case, email=colleague_email)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_organization"
    assert _get(product, owner, f"/api/v1/applications/{number}/grants").get_json()["items"] == []
    assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 404


def test_access_pages(product: Product):
    owner_email, owner = _account(product)
    colleague_email, _ = _account(product, last_name="Белова", first_name="Ирина")
    number = _apply(product, owner)
    owner_client, colleague_client = product.client(), product.client()
    assert login(owner_client, owner_email).status_code == 302
    assert login(colleague_client, colleague_email).status_code == 302
    assert colleague_client.get(f"/applications/{number}").status_code == 404
    assert colleague_client.get(f"/applications/{number}/access").status_code == 404

    case_page = owner_client.get(f"/applications/{number}").get_data(as_text=True)
    assert f'href="/applications/{number}/access"' in case_page
    page = owner_client.get(f"/applications/{number}/access").get_data(as_text=True)
    assert "Доступ никому не открыт" in page and '<label for="f-email">' in page
    r = owner_client.post(f"/applications/{number}/access", data={"csrf_token": csrf_token(page), "email": "",
                                                                  "scope": "case"})
    assert r.status_code == 422
    assert 'id="f-email-error"' in r.get_data(as_text=True)
    assert "Укажите адрес электронной почты коллеги" in r.get_data(as_text=True)
    r = owner_client.post(f"/applications/{number}/access", data={"csrf_token": csrf_token(page),
                                                                  "email": colleague_email, "scope": "case"})
    assert r.status_code == 302
    page = owner_client.get(r.location).get_data(as_text=True)
    assert "Белова Ирина" in page and colleague_email in page

    seen = colleague_client.get(f"/applications/{number}")
    assert seen.status_code == 200
    html = seen.get_data(as_text=True)
    assert f"Заявление № {number}" in html and "/access" not in html  # a colleague manages no access
    shared = colleague_client.get("/organizations/shared").get_data(as_text=True)
    assert f'href="/applications/{number}"' in shared and "Общество с ограниченной ответственностью «Ромашка»" in shared

    grant_id = page.split(f"/applications/{number}/access/", 1)[1].split("/revoke", 1)[0]
    r = owner_client.post(f"/applications/{number}/access/{grant_id}/revoke", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert "Доступ никому не открыт" in owner_client.get(r.location).get_data(as_text=True)
    assert colleague_client.get(f"/applications/{number}").status_code == 404
    assert f"/applications/{number}" not in colleague_client.get("/organizations/shared").get_data(as_text=True)
