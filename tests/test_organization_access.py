"""Colleague access to an organisation's cases: 404 without a grant, read-only with one, 404 after revoking
or once it has expired; grants name an e-mail address and never disclose whose account it is; every read
of the grants and of the shared list is journaled (JSON API and pages, both backends)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from engine import journal
from forms.dates import add_years, format_ru_date, today_moscow
from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tasks.cases.models.organizations import CaseAccessGrant
from tests.support.accounts import bearer, csrf_token, login, unique_email
from tests.support.product import Product
from tests.test_organization_requisites import org_body, upload_scan
from web.extensions import db

GRANT_KEYS = {"id", "email", "scope", "scope_label", "created_at", "expires_at"}


def _apply(product: Product, token: str, short_name: str = "ООО «Ромашка»", body: dict | None = None) -> str:
    r = product.client().post("/api/v1/applications", json=body or org_body(short_name), headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["number"]


def _apply_by_power_of_attorney(product: Product, token: str, valid_to: date | None) -> tuple[str, dict]:
    body = org_body(authority="power_of_attorney")
    poa = body["representative"]["power_of_attorney"]
    if valid_to is None:
        del poa["valid_to"]
    else:
        poa["valid_to"] = valid_to.isoformat()
    body["document_ids"] = [upload_scan(product, token)]
    return _apply(product, token, body=body), poa


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


def _actor(product: Product, email: str) -> str:
    with product.app.app_context():
        return f"user:{db.session.scalar(select(User.id).where(User.email == email))}"


def _shared(product: Product, token: str) -> set[str]:
    r = _get(product, token, "/api/v1/organizations/applications")
    assert r.status_code == 200, r.get_json()
    return {c["number"] for c in r.get_json()["items"]}


def test_colleague_reads_a_case_only_while_granted(product: Product):
    owner_email, owner = _account(product)
    colleague_email, colleague = _account(product, last_name="Белова", first_name="Ирина")
    number = _apply(product, owner)
    case_url = f"/api/v1/applications/{number}"
    assert _get(product, colleague, case_url).status_code == 404
    assert _get(product, colleague, f"{case_url}/grants").status_code == 404
    assert _grant(product, colleague, number, email=colleague_email).status_code == 404  # not the owner's

    r = _grant(product, owner, number, email=f"  {colleague_email.upper()} ")
    assert r.status_code == 201, r.get_json()
    grant = r.get_json()
    assert set(grant) == GRANT_KEYS  # the address typed, never whose account it is
    assert (grant["email"], grant["scope"], grant["expires_at"]) == (colleague_email, "case", None)
    assert "Белова" not in r.get_data(as_text=True)
    listed = _get(product, owner, f"{case_url}/grants")
    assert listed.get_json()["items"] == [grant] and "Белова" not in listed.get_data(as_text=True)

    seen = _get(product, colleague, case_url)
    assert seen.status_code == 200 and seen.get_json()["number"] == number
    assert all(a.startswith("download_") for a in seen.get_json()["actions"])
    assert _get(product, colleague, f"{case_url}/receipt.pdf").status_code == 200
    assert _shared(product, colleague) == {number}
    # Reading only: the owner's actions and the grants stay the owner's.
    r = product.client().post(f"{case_url}/resubmit", json={"comment": "x"}, headers=bearer(colleague))
    assert r.status_code == 404
    assert product.client().post(f"{case_url}/appeal", json={"grounds": "x"}, headers=bearer(colleague)).status_code \
        == 404
    assert _get(product, colleague, f"{case_url}/grants").status_code == 404

    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(colleague)).status_code == 404
    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(owner)).status_code == 204
    assert _get(product, colleague, case_url).status_code == 404
    assert _shared(product, colleague) == set()
    assert product.client().delete(f"{case_url}/grants/{grant['id']}", headers=bearer(owner)).status_code == 404
    assert _get(product, owner, f"{case_url}/grants").get_json()["items"] == []

    events = _events(product, number)
    owner_actor, reader = _actor(product, owner_email), _actor(product, colleague_email)
    granted = [e for e in events if e.event == "access_granted"]
    assert [(e.actor, e.details["grant"], e.details["email"], e.details["scope"], e.message) for e in granted] == [
        (owner_actor, grant["id"], colleague_email, "case", f"Открыт доступ на чтение: {colleague_email} "
                                                             "(только это заявление)")]
    assert [e.details["grant"] for e in events if e.event == "access_revoked"] == [grant["id"]]
    assert any(e.event == "case_viewed" and e.actor == reader for e in events)  # the colleague's reading
    # Reading the list of grants (the colleagues' addresses) and the shared list are journaled too.
    assert len([e for e in events if e.event == "access_viewed" and e.actor == owner_actor]) == 2
    assert [e.actor for e in events if e.event == "shared_list_viewed"] == [reader]


def test_known_and_unknown_addresses_are_answered_alike(product: Product):
    """152-ФЗ: the grant form tells the owner nothing about accounts; a grant waits for its address."""
    owner_email, owner = _account(product)
    _, colleague = _account(product, last_name="Белова", first_name="Ирина")
    colleague_email = _get(product, colleague, "/api/v1/auth/me").get_json()["email"]
    newcomer_email = unique_email("newcomer")  # no account yet
    number = _apply(product, owner)

    known, unknown = _grant(product, owner, number, email=colleague_email), \
        _grant(product, owner, number, email=newcomer_email.upper())
    assert (known.status_code, unknown.status_code) == (201, 201), (known.get_json(), unknown.get_json())
    assert set(known.get_json()) == set(unknown.get_json()) == GRANT_KEYS
    assert unknown.get_json()["email"] == newcomer_email

    # The address registers later: the grant applies to the account signed in with it.
    newcomer = product.citizen_token(newcomer_email, last_name="Новикова", first_name="Вера")
    assert _get(product, newcomer, f"/api/v1/applications/{number}").status_code == 200
    assert _shared(product, newcomer) == {number}

    # A staff address is accepted the same way, but grants never apply to staff accounts.
    analyst = product.staff_token("analyst")  # not a case worker: reads no cases by its role
    analyst_email = _get(product, analyst, "/api/v1/auth/me").get_json()["email"]
    staff = _grant(product, owner, number, email=analyst_email)
    assert staff.status_code == 201 and set(staff.get_json()) == GRANT_KEYS
    assert _get(product, analyst, f"/api/v1/applications/{number}").status_code == 404

    # Only the shape of the address and the owner's own address are refused.
    def refused(**body: Any) -> dict:
        r = _grant(product, owner, number, **body)
        assert r.status_code == 422, r.get_json()
        return r.get_json()["error"]["fields"][0]

    assert refused(email="не адрес")["code"] == "format"
    assert refused() == {"field": "email", "code": "required", "message": "Укажите адрес электронной почты коллеги"}
    assert refused(email=owner_email.upper())["code"] == "self"
    assert refused(email=unique_email(), scope="everything")["field"] == "scope"
    assert json.dumps(_get(product, owner, f"/api/v1/applications/{number}/grants").get_json(),
                      ensure_ascii=False).count("Белова") == 0


def test_grants_are_rate_limited(product: Product):
    _, owner = _account(product)
    number = _apply(product, owner)
    address = unique_email("pestered")
    answers = [_grant(product, owner, number, email=address).status_code for _ in range(11)]
    assert answers[0] == 201 and answers[1:10] == [409] * 9  # every attempt counts, refused ones too
    assert answers[10] == 429
    limited = _grant(product, owner, number, email=address)
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert _grant(product, owner, number, email=unique_email()).status_code == 201  # another address


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
    assert _shared(product, colleague) == {first, second, later}
    # Journaled once, on the case it was made from, saying it covers every case of the organisation.
    granted = [e for e in _events(product, first) if e.event == "access_granted"]
    assert [e.message for e in granted] == [
        f"Открыт доступ на чтение: {colleague_email} (все заявления организации с ИНН 7798102639, "
        "поданные владельцем этого заявления)"]
    assert granted[0].details["inn"] == "7798102639"
    assert not [e for e in _events(product, second) if e.event == "access_granted"]
    # The organisation-wide grant shows on every case it covers, and is revoked from any of them.
    items = _get(product, owner, f"/api/v1/applications/{later}/grants").get_json()["items"]
    assert [g["id"] for g in items] == [r.get_json()["id"]]
    again = _grant(product, owner, second, email=colleague_email)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_granted"
    assert product.client().delete(f"/api/v1/applications/{later}/grants/{items[0]['id']}",
                                   headers=bearer(owner)).status_code == 204
    for number in (first, second, later):
        assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 404, number
    person_case = product.apply(owner, "valid")["number"]
    r = _grant(product, owner, person_case, email=colleague_email)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_organization"


def test_grants_end_on_their_date(product: Product):
    _, owner = _account(product)
    colleague_email, colleague = _account(product)
    number = _apply(product, owner)
    today = today_moscow()

    def refused(value: str) -> dict:
        r = _grant(product, owner, number, email=colleague_email, expires_at=value)
        assert r.status_code == 422, r.get_json()
        return r.get_json()["error"]["fields"][0]

    assert refused((today - timedelta(days=1)).isoformat()) == {
        "field": "expires_at", "code": "past_date",
        "message": "Дата окончания доступа не может быть раньше сегодняшнего дня"}
    assert refused("2026-02-30")["code"] == "format"
    r = _grant(product, owner, number, email=colleague_email, expires_at=today.isoformat())
    assert r.status_code == 201 and r.get_json()["expires_at"] == today.isoformat()  # through its last day
    assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 200
    granted = [e for e in _events(product, number) if e.event == "access_granted"]
    assert granted[-1].message.endswith(f"(только это заявление, до {format_ru_date(today)} включительно)")

    with product.app.app_context():  # a day later
        db.session.execute(update(CaseAccessGrant).where(CaseAccessGrant.id == r.get_json()["id"])
                           .values(expires_at=today - timedelta(days=1)))
        db.session.commit()
    assert _get(product, colleague, f"/api/v1/applications/{number}").status_code == 404
    assert _shared(product, colleague) == set()
    assert _get(product, owner, f"/api/v1/applications/{number}/grants").get_json()["items"] == []
    again = _grant(product, owner, number, email=colleague_email)  # an expired grant can be given anew
    assert again.status_code == 201 and again.get_json()["expires_at"] is None


def test_a_representative_by_power_of_attorney_grants_no_longer_than_it_lasts(product: Product):
    owner_email, owner = _account(product)
    today = today_moscow()
    valid_to = today + timedelta(days=40)
    number, _ = _apply_by_power_of_attorney(product, owner, valid_to)

    def end(**body: Any) -> str | None:
        r = _grant(product, owner, number, email=unique_email(), **body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["expires_at"]

    assert end() == valid_to.isoformat()
    assert end(expires_at=(valid_to + timedelta(days=100)).isoformat()) == valid_to.isoformat()
    assert end(expires_at=(today + timedelta(days=5)).isoformat()) == (today + timedelta(days=5)).isoformat()
    assert end(scope="organization") == valid_to.isoformat()

    open_ended, poa = _apply_by_power_of_attorney(product, owner, None)  # a year from its date (ГК РФ ст. 186)
    r = _grant(product, owner, open_ended, email=unique_email())
    assert r.get_json()["expires_at"] == add_years(date.fromisoformat(poa["issued_on"]), 1).isoformat()

    client = product.client()
    assert login(client, owner_email).status_code == 302
    page = client.get(f"/applications/{number}/access").get_data(as_text=True)
    assert f"не дольше её срока — по {format_ru_date(valid_to)}" in page
    assert f"по {format_ru_date(valid_to)} включительно" in page


def test_reads_and_grants_in_the_staff_audit(product: Product):
    _, owner = _account(product)
    colleague_email, colleague = _account(product)
    number = _apply(product, owner)
    assert _grant(product, owner, number, email=colleague_email).status_code == 201
    assert _get(product, owner, f"/api/v1/applications/{number}/grants").status_code == 200
    _shared(product, colleague)
    supervisor = product.staff_token("supervisor")
    items = _get(product, supervisor, f"/api/v1/applications/{number}/audit").get_json()["items"]
    rows = {i["event"]: (i["event_label"], i["access"]) for i in items}
    assert rows["access_granted"] == ("Открыт доступ коллеге", False)
    assert rows["access_viewed"] == ("Просмотр списка коллег с доступом", True)  # a read of personal data
    assert rows["shared_list_viewed"][1] is True


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
    assert '<label for="f-expires_at">' in page and "не дольше её срока" not in page  # the head: no limit
    form = {"csrf_token": csrf_token(page), "email": "", "scope": "case", "expires_at": ""}
    r = owner_client.post(f"/applications/{number}/access", data=form)
    assert r.status_code == 422
    assert 'id="f-email-error"' in r.get_data(as_text=True)
    assert "Укажите адрес электронной почты коллеги" in r.get_data(as_text=True)
    r = owner_client.post(f"/applications/{number}/access", data={**form, "email": colleague_email,
                                                                  "expires_at": "01.01.2001"})
    assert r.status_code == 422 and 'id="f-expires_at-error"' in r.get_data(as_text=True)
    assert 'value="01.01.2001"' in r.get_data(as_text=True)
    until = today_moscow() + timedelta(days=10)
    r = owner_client.post(f"/applications/{number}/access", data={**form, "email": colleague_email,
                                                                  "expires_at": format_ru_date(until)})
    assert r.status_code == 302
    page = owner_client.get(r.location).get_data(as_text=True)
    assert colleague_email in page and f"по {format_ru_date(until)} включительно" in page
    assert "Белова" not in page  # only the address the owner typed

    seen = colleague_client.get(f"/applications/{number}")
    assert seen.status_code == 200
    html = seen.get_data(as_text=True)
    assert f"Заявление №\u00a0{number}" in html and "/access" not in html  # a colleague manages no access
    shared = colleague_client.get("/organizations/shared").get_data(as_text=True)
    assert f'href="/applications/{number}"' in shared and "Общество с ограниченной ответственностью «Ромашка»" in shared

    grant_id = page.split(f"/applications/{number}/access/", 1)[1].split("/revoke", 1)[0]
    r = owner_client.post(f"/applications/{number}/access/{grant_id}/revoke", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert "Доступ никому не открыт" in owner_client.get(r.location).get_data(as_text=True)
    assert colleague_client.get(f"/applications/{number}").status_code == 404
    assert f"/applications/{number}" not in colleague_client.get("/organizations/shared").get_data(as_text=True)
    events = _events(product, number)
    owner_actor, reader = _actor(product, owner_email), _actor(product, colleague_email)
    assert len([e for e in events if e.event == "access_viewed" and e.actor == owner_actor]) >= 5
    assert [e.actor for e in events if e.event == "shared_list_viewed"] == [reader]
