"""«Забыли пароль?» over the API and the pages, with mail through a real SMTP server (aiosmtpd): the answer
is the same for any address (a letter goes out either way), the code works once, expires and burns after
five wrong entries, requests are rate limited, and the reset ends every session and API token.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from engine.clock import utcnow
from engine.models import JournalEntry
from tasks.accounts.models import PasswordResetCode, User
from tasks.accounts.passwords import COMMON, PERSONAL
from tests.support.accounts import PASSWORD, add_user, bearer, citizen, client_from, csrf_token, login, unique_email
from tests.support.smtp import SmtpServer, activation_code

NEW_PASSWORD = "Новый-надёжный-пароль-8"
SUBJECT = "Сброс пароля"


def _request(client, email: str):
    return client.post("/api/v1/auth/password-reset", json={"email": email})


def _confirm(client, email: str, code: str, password: str = NEW_PASSWORD):
    return client.post("/api/v1/auth/password-reset/confirm", json={"email": email, "code": code, "password": password})


def _code(smtp: SmtpServer, email: str) -> str:
    return activation_code(smtp.wait_for_mail(email, subject=SUBJECT))


def _token(client, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_reset_answers_alike_and_ends_every_session_and_token(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    email, stranger = add_user(app, "citizen"), unique_email("stranger")
    browser = client_from(app)
    assert login(browser, email).status_code == 302
    token = _token(client_from(app), email).get_json()["token"]

    client = client_from(app)
    known, unknown = _request(client, email), _request(client, stranger)
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == {k: (v.replace(stranger, email) if isinstance(v, str) else v)
                                for k, v in unknown.get_json().items()}
    note = smtp_server.wait_for_mail(stranger, subject=SUBJECT)  # the stranger's address hears, nobody else
    assert "учётной записи с таким адресом нет" in note.text and not re.search(r"\b\d{6}\b", note.text)
    code = _code(smtp_server, email)

    wrong = _confirm(client, email, f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_code"
    assert _confirm(client, stranger, code).get_json() == wrong.get_json()  # an unknown address: the same
    weak = _confirm(client, email, code, password="1234567890")
    assert weak.status_code == 422 and weak.get_json()["error"]["fields"] == [
        {"field": "password", "code": "weak_password", "message": COMMON}]
    assert _confirm(client, stranger, code, password="1234567890").get_json() == weak.get_json()
    own = _confirm(client, email, code, password="Петров-навсегда-2024")  # add_user's surname
    assert own.status_code == 422 and own.get_json()["error"]["fields"][0]["message"] == PERSONAL

    done = _confirm(client, email, code)  # a refused password did not spend the code
    assert done.status_code == 200 and done.get_json() == {"email": email, "status": "password_changed"}
    again = _confirm(client, email, code, password="Ещё-один-пароль-42")
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "code_burned"  # works once

    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert browser.get("/applications").status_code == 302  # the browser's session ended too
    assert _token(client, email).status_code == 401
    assert _token(client, email, NEW_PASSWORD).status_code == 200
    with backend.services.database.session() as s:
        user_id = s.scalar(select(User.id).where(User.email == email))
        events = s.scalars(select(JournalEntry.event).where(JournalEntry.actor == f"user:{user_id}")).all()
    assert "password_reset" in events


def test_a_reset_code_expires_and_burns_after_five_wrong_entries(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    client = client_from(app)
    email = add_user(app, "citizen")
    assert _request(client, email).status_code == 202
    code = _code(smtp_server, email)
    with backend.services.database.session() as s:  # half an hour passes
        user_id = s.scalar(select(User.id).where(User.email == email))
        s.execute(update(PasswordResetCode).where(PasswordResetCode.user_id == user_id)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = _confirm(client, email, code)
    assert expired.status_code == 400 and expired.get_json()["error"]["code"] == "code_expired"

    assert _request(client, email).status_code == 202
    code = _code(smtp_server, email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [_confirm(client, email, wrong).get_json()["error"]["code"] for _ in range(5)]
    assert answers == ["invalid_code"] * 4 + ["code_burned"]
    assert _confirm(client, email, code).get_json()["error"]["code"] == "code_burned"
    assert _token(client, email).status_code == 200  # the password is unchanged


def test_reset_requests_are_rate_limited_per_address(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    client, email = client_from(app), add_user(app, "citizen")
    assert [_request(client, email).status_code for _ in range(3)] == [202, 202, 202]
    limited = _request(client_from(app), email)  # from another address too
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    bad = _request(client_from(app), "not-an-address")
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"][0]["field"] == "email"


def test_a_registration_not_yet_activated_gets_the_no_account_note(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    client, email = client_from(app), unique_email()
    assert client.post("/api/v1/auth/register", json=citizen(email)).status_code == 201
    smtp_server.wait_for_mail(email, subject="Код подтверждения регистрации")
    assert _request(client, email).status_code == 202
    assert "учётной записи с таким адресом нет" in smtp_server.wait_for_mail(email, subject=SUBJECT).text


def test_reset_through_the_pages(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    email = add_user(app, "citizen")
    client = client_from(app)
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset">Забыли пароль?</a>' in login_page

    form = client.get("/password-reset").get_data(as_text=True)
    assert '<label for="f-email"' in form
    bad = client.post("/password-reset", data={"email": "не адрес", "csrf_token": csrf_token(form)})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="f-email-error"' in html
    sent = client.post("/password-reset", data={"email": email, "csrf_token": csrf_token(form)})
    assert sent.status_code == 302 and sent.location == "/password-reset/confirm"  # no address in the URL
    page = client.get(sent.location).get_data(as_text=True)
    assert f"Мы отправили письмо на адрес {email}" in page and f'value="{email}"' in page
    code = _code(smtp_server, email)

    wrong = client.post("/password-reset/confirm", data={"email": email, "code": f"{(int(code) + 1) % 10**6:06d}",
                                                         "password": NEW_PASSWORD, "csrf_token": csrf_token(page)})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    code_field = html[html.index('<label for="f-code"'):html.index('id="f-code"')]
    assert "Неверный код подтверждения." in code_field and NEW_PASSWORD not in html
    weak = client.post("/password-reset/confirm", data={"email": email, "code": code, "password": "qwertyuiop",
                                                        "csrf_token": csrf_token(html)})
    html = weak.get_data(as_text=True)
    password_field = html[html.index('<label for="f-password"'):html.index('id="f-password"')]
    assert weak.status_code == 422 and COMMON in password_field
    done = client.post("/password-reset/confirm", data={"email": email, "code": code, "password": NEW_PASSWORD,
                                                        "csrf_token": csrf_token(html)})
    assert done.status_code == 302 and done.location == "/login"
    assert "Пароль изменён" in client.get("/login").get_data(as_text=True)
    assert login(client, email, NEW_PASSWORD).status_code == 302
