"""The complete account over the API and the pages, on both backends: ЕНП and ИНН at registration, the
profile that pre-fills applications, the e-mail change confirmed at the new address, and the deletion
that deactivates the account and minimises its data while the accepted documents stay on record.

Mail goes through a real SMTP server (aiosmtpd); codes are read from there, never from the database.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.models import JournalEntry
from tasks.accounts.models import ApiToken, LegalAcceptance, User
from tasks.cases.models.cases import Application
from tests.support.accounts import (
    ENP,
    PASSWORD,
    accepted_versions,
    add_user,
    bearer,
    citizen,
    client_from,
    csrf_token,
    fresh_otp,
    login,
    registration_form,
    unique_email,
)
from tests.support.backend import wait_for
from tests.support.smtp import activation_code

INN = "500100732259"  # a 12-digit ИНН with right check digits
SNILS = "11223344595"  # check digits 95 (weights 9..1, modulo 101)


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def _fields(response) -> dict[str, str]:
    return {f["field"]: f["code"] for f in _error(response)["fields"]}


def _registered_token(client, smtp, **changes) -> tuple[str, str]:
    email = unique_email("profile")
    assert client.post("/api/v1/auth/register", json=citizen(email, **changes)).status_code == 201
    code = activation_code(smtp.wait_for_mail(email))
    assert client.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200
    issued = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    return email, issued.get_json()["token"]


def _events(backend, user_id: int) -> list[str]:
    with backend.services.database.session() as s:
        rows = s.scalars(select(JournalEntry).where(JournalEntry.instance_id.is_(None))).all()
        return [r.event for r in rows if (r.details or {}).get("user_id") == user_id]


def _user(backend, email: str) -> User:
    with backend.services.database.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        s.expunge_all()
        return user


def test_registration_checks_enp_inn_and_the_accepted_versions(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    refused = client.post("/api/v1/auth/register", json=citizen(unique_email(), enp="7700000000000017",
                                                                  inn="500100732258", terms_version="0"))
    assert refused.status_code == 422
    assert _fields(refused) == {"enp": "checksum", "inn": "checksum", "terms_version": "outdated_version"}
    messages = {f["field"]: f["message"] for f in _error(refused)["fields"]}
    assert "Номер полиса ОМС введён с ошибкой" in messages["enp"] and "ИНН введён с ошибкой" in messages["inn"]
    half = client.post("/api/v1/auth/register", json=citizen(unique_email(), consent_version="0"))
    assert _fields(half) == {"consent_version": "outdated_version"}  # a named version must be the current one

    email, token = _registered_token(client, smtp_server, inn=INN, enp="7700 0000 0000 0016")
    account = client.get("/api/v1/account", headers=bearer(token)).get_json()
    assert account["enp"] == ENP and account["inn"] == INN and account["last_name"] == "Иванова"
    assert sorted((d["document"], d["version"]) for d in account["documents"]) == [("consent", "1"), ("terms", "1")]
    user = _user(backend, email)
    with backend.services.database.session() as s:
        rows = s.scalars(select(LegalAcceptance).where(LegalAcceptance.user_id == user.id)).all()
        assert {r.channel for r in rows} == {"api"} and all(len(r.sha256) == 64 and r.accepted_at for r in rows)
    assert {"legal_accepted", "profile_viewed"} <= set(_events(backend, user.id))


def test_the_contract_body_registers_activates_and_applies_without_a_consent_step(backend, product):
    """The public API's registration (no ЕНП, no versions) accepts the documents in force over the API."""
    email = unique_email("contract")
    client = product.client()
    body = {"email": email, "password": PASSWORD, "phone": "+79161234567", "last_name": "Иванов",
            "first_name": "Сергей", "middle_name": "Петрович", "birth_date": "1985-03-14"}
    registered = client.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.get_json()
    code = activation_code(product.smtp.wait_for_mail(email))
    assert client.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]

    applied = client.post("/api/v1/applications", json=product.application_body(), headers=bearer(token))
    assert applied.status_code == 201, applied.get_json()
    assert client.get(f"/api/v1/applications/{applied.get_json()['number']}", headers=bearer(token)).status_code == 200
    user = _user(backend, email)
    assert (user.enp, user.inn) == (None, None)
    with backend.services.database.session() as s:
        rows = s.scalars(select(LegalAcceptance).where(LegalAcceptance.user_id == user.id)).all()
        in_force = accepted_versions()
        assert {(r.document, r.version, r.channel) for r in rows} == {
            ("terms", in_force["terms_version"], "api"), ("consent", in_force["consent_version"], "api")}


def test_profile_changes_over_the_api_and_role_checks(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    client = client_from(app)
    email, token = _registered_token(client, smtp_server, enp=ENP)
    bad = client.patch("/api/v1/account", json={"enp": "1234", "birth_date": "2030-01-01", "last_name": "Smith"},
                       headers=bearer(token))
    assert bad.status_code == 422 and set(_fields(bad)) == {"enp", "birth_date", "last_name"}
    assert _user(backend, email).enp == ENP  # nothing changed

    done = client.patch("/api/v1/account", json={"last_name": "Петрова", "inn": INN, "middle_name": None},
                        headers=bearer(token))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["last_name"] == "Петрова" and done.get_json()["middle_name"] is None
    user = _user(backend, email)
    assert (user.last_name, user.inn, user.middle_name) == ("Петрова", INN, None)
    assert "profile_changed" in _events(backend, user.id)

    typo = client.patch("/api/v1/account", json={"snils": "112-233-445 96", "last_name": "Сидорова"},
                        headers=bearer(token))
    assert typo.status_code == 422 and _fields(typo) == {"snils": "checksum"}
    [problem] = _error(typo)["fields"]
    assert problem["message"].startswith("Номер СНИЛС введён с ошибкой")
    user = _user(backend, email)
    assert (user.snils, user.last_name) == (None, "Петрова")  # nothing changed
    saved = client.patch("/api/v1/account", json={"snils": "112-233-445 95"}, headers=bearer(token))
    assert saved.status_code == 200 and saved.get_json()["snils"] == SNILS
    assert _user(backend, email).snils == SNILS
    assert client.get("/api/v1/auth/me", headers=bearer(token)).get_json()["snils"] == SNILS
    no_enp = client.patch("/api/v1/account", json={"enp": None}, headers=bearer(token))
    assert no_enp.status_code == 200 and no_enp.get_json()["enp"] is None  # СНИЛС may stand in for it

    assert client.get("/api/v1/account").status_code == 401
    operator = add_user(app, "operator")
    staff = client.post("/api/v1/auth/token", json={"email": operator, "password": PASSWORD,
                                                    "otp": fresh_otp(app, operator)}).get_json()["token"]
    for method, path in (("get", ""), ("patch", ""), ("post", "/email"), ("post", "/email/confirm"),
                         ("post", "/delete")):
        response = getattr(client, method)(f"/api/v1/account{path}", json={}, headers=bearer(staff))
        assert response.status_code == 403 and _error(response)["code"] == "forbidden", path


def test_email_change_is_confirmed_at_the_new_address_and_told_to_the_old(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email, token = _registered_token(client, smtp_server)
    _, other_token = _registered_token(client, smtp_server)
    taken = client.get("/api/v1/auth/me", headers=bearer(other_token)).get_json()["email"]
    new = unique_email("new")

    wrong = client.post("/api/v1/account/email", json={"email": new, "password": "не тот"}, headers=bearer(token))
    assert wrong.status_code == 403 and _error(wrong)["code"] == "wrong_password"
    clash = client.post("/api/v1/account/email", json={"email": taken, "password": PASSWORD}, headers=bearer(token))
    assert clash.status_code == 409 and _error(clash)["code"] == "email_taken"
    asked = client.post("/api/v1/account/email", json={"email": new.upper(), "password": PASSWORD},
                        headers=bearer(token))
    assert asked.status_code == 202 and asked.get_json()["pending_email"] == new
    code = activation_code(smtp_server.wait_for_mail(new))
    wrong_code = f"{(int(code) + 1) % 10**6:06d}"
    refused = client.post("/api/v1/account/email/confirm", json={"code": wrong_code}, headers=bearer(token))
    assert refused.status_code == 400 and _error(refused)["code"] == "invalid_code"
    assert _user(backend, email) is not None  # not changed yet

    confirmed = client.post("/api/v1/account/email/confirm", json={"code": code}, headers=bearer(token))
    assert confirmed.status_code == 200 and confirmed.get_json()["email"] == new
    notice = smtp_server.wait_for_mail(email)
    assert "изменён" in notice.subject and new in notice.text
    assert client.get("/api/v1/account", headers=bearer(token)).status_code == 401  # the tokens ended
    again = client.post("/api/v1/auth/token", json={"email": new, "password": PASSWORD})
    assert again.status_code == 200
    assert client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).status_code == 401
    assert "email_changed" in _events(backend, _user(backend, new).id)


def test_deleting_the_account_minimises_it_and_keeps_the_consent_record(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email, token = _registered_token(client, smtp_server, inn=INN)
    assert client.patch("/api/v1/account", json={"snils": SNILS}, headers=bearer(token)).status_code == 200
    user_id = _user(backend, email).id
    wrong = client.post("/api/v1/account/delete", json={"password": "не тот"}, headers=bearer(token))
    assert wrong.status_code == 403 and _error(wrong)["code"] == "wrong_password"
    assert _user(backend, email).is_active

    deleted = client.post("/api/v1/account/delete", json={"password": PASSWORD}, headers=bearer(token))
    assert deleted.status_code == 200 and deleted.get_json()["status"] == "deleted"
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    refused = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 401
    with backend.services.database.session() as s:
        user = s.get(User, user_id)
        assert not user.is_active and user.deleted_at is not None
        assert user.email == f"deleted-{user_id}@deleted.invalid"
        assert (user.last_name, user.first_name, user.middle_name, user.birth_date, user.phone, user.enp,
                user.inn, user.snils) == (None,) * 8
        assert s.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).all() == []
        kept = s.scalars(select(LegalAcceptance).where(LegalAcceptance.user_id == user_id)).all()
        assert len(kept) == 2
    assert "account_deleted" in _events(backend, user_id)
    # the address is free again: the person may register anew
    assert client.post("/api/v1/auth/register", json=citizen(email)).status_code == 201


def test_profile_pages_registration_errors_and_the_prefilled_application(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    client = client_from(app)
    page = client.get("/register").get_data(as_text=True)
    assert 'href="/legal/terms/1"' in page and 'href="/legal/consent/1"' in page
    assert 'name="terms_version" value="1"' in page and 'name="consent_version" value="1"' in page
    data = registration_form(unique_email(), csrf_token(page), enp="7700000000000017", inn="12345", terms="")
    refused = client.post("/register", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="f-enp-error"' in html and "Номер полиса ОМС введён с ошибкой" in html
    assert 'id="f-inn-error"' in html and 'id="f-terms-error"' in html
    assert "примите пользовательское соглашение" in html

    email = add_user(app, "citizen")
    assert login(client, email).status_code == 302
    profile = client.get("/account")
    assert profile.status_code == 200 and "Принятые документы" in profile.get_data(as_text=True)
    assert 'id="f-snils"' in profile.get_data(as_text=True)
    form = {"last_name": "Сидорова", "first_name": "Анна", "birth_date": "01.02.1990", "enp": ENP, "inn": INN,
            "snils": "112-233-445 95", "csrf_token": csrf_token(profile.get_data(as_text=True))}
    bad = client.post("/account", data={**form, "enp": "12"})
    assert bad.status_code == 422 and 'id="f-enp-error"' in bad.get_data(as_text=True)
    typo = client.post("/account", data={**form, "snils": "112-233-445 96"}).get_data(as_text=True)
    assert 'id="f-snils-error"' in typo and "Номер СНИЛС введён с ошибкой" in typo
    saved = client.post("/account", data=form)
    assert saved.status_code == 302
    assert "Личные данные сохранены." in client.get("/account").get_data(as_text=True)

    personal = client.get("/apply/personal").get_data(as_text=True)
    assert 'value="Сидорова"' in personal and 'value="01.02.1990"' in personal
    ids = client.get("/apply/ids").get_data(as_text=True)
    assert f'value="{ENP}"' in ids and f'value="{INN}"' in ids
    assert f'value="{SNILS}"' in ids

    deletion = client.get("/account/delete").get_data(as_text=True)
    unconfirmed = client.post("/account/delete", data={"password": PASSWORD, "csrf_token": csrf_token(deletion)})
    assert unconfirmed.status_code == 422 and 'id="f-confirm-error"' in unconfirmed.get_data(as_text=True)
    gone = client.post("/account/delete", data={"password": PASSWORD, "confirm": "on",
                                                "csrf_token": csrf_token(deletion)})
    assert gone.status_code == 302
    assert client.get("/account").status_code == 302  # signed out: the login page
    assert _user(backend, email) is None  # the address was replaced by the placeholder


def test_a_deleted_account_keeps_its_cases_and_gets_no_more_notices(backend, product):
    token = product.citizen_token()
    number = product.apply(token, "yo_spelling")["number"]  # waits for an operator
    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "operator_review")
    client = product.client()
    deleted = client.post("/api/v1/account/delete", json={"password": PASSWORD}, headers=bearer(token))
    assert deleted.status_code == 200

    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(operator)).status_code == 200
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}, headers=bearer(operator))
    assert done.status_code == 200, done.get_json()
    assert product.wait_status(operator, number, "ready")["number"] == number  # the case goes on and stays
    assert client.get(f"/api/v1/applications/{number}/audit", headers=bearer(operator)).status_code == 200

    def skipped_events() -> list[str]:
        with backend.services.database.session() as s:
            instance = s.scalar(select(Application.instance_id).where(Application.number == number))
            rows = s.scalars(select(JournalEntry).where(JournalEntry.event == "notification_skipped",
                                                        JournalEntry.instance_id == instance)).all()
            return [r.details["event"] for r in rows]

    wait_for(lambda: "ready" in skipped_events(), timeout=60, message="the «ready» notice skipped")
    assert not [m for m in product.smtp.messages if any(to.endswith("@deleted.invalid") for to in m.rcpt_tos)]
