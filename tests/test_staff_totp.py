"""Staff sign-in with a password and a TOTP code: enrolment with a QR code, the code step, replay
protection, rate limits, the API and the administrator's reset, on both backends.

Codes come from pyotp with the secret read back from the QR code (decoded with zbarimg) or from
the database, as an authenticator app would compute them.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
from flask import Blueprint
from sqlalchemy import select, update

from engine.models import JournalEntry
from tasks.accounts.models import User
from tasks.accounts.secret_box import seal, unseal
from tasks.accounts.service import AccountService
from tests.support.accounts import (
    PASSWORD,
    add_user,
    bearer,
    citizen,
    client_from,
    csrf_token,
    fresh_otp,
    login,
    unique_email,
)
from web.extensions import db
from web.security import roles_required

_QR_IMAGE = re.compile(r'<img src="data:image/png;base64,([^"]+)"')
_SECRET_SHOWN = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')


def _with_staff_page(app):
    """A page only operators may open, standing for every staff page of the product."""
    probe = Blueprint("totp_probe", __name__)

    @probe.get("/probe/staff-only")
    @roles_required("operator")
    def staff_only():
        return "<p>Страница сотрудника</p>"

    app.register_blueprint(probe)
    return app


def _unenrolled(app, role: str = "operator") -> str:
    """A staff account as `backoffice users add` leaves it: active, no second factor yet."""
    with app.app_context():
        user, _ = AccountService(db.session, app.config["SECRET_KEY"]).create_user(unique_email(role), role, PASSWORD)
        return user.email


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def _secret(app, email: str) -> str:
    """The user's TOTP secret as their app knows it (the table holds it sealed)."""
    return unseal(app.config["SECRET_KEY"], _user(app, email).totp_secret)


def _open_enrolment_link(app, client, email: str) -> None:
    """An administrator issues the one-time link and the staff member opens it in their browser."""
    with app.app_context():
        token = AccountService(db.session, app.config["SECRET_KEY"]).issue_enrolment_link(email, "user:1")
    opened = client.get(f"/login/enrol/{token}")
    assert opened.status_code == 302 and opened.location == "/login"


def _password_step(client, email: str, next_url: str | None = None):
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)


def _post_code(client, path: str, email: str, otp: str):
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"email": email, "otp": otp, "csrf_token": token})


def _wrong(code: str) -> str:
    return f"{(int(code) + 500000) % 10**6:06d}"


def _otp_field(html: str) -> str:
    """The markup of the code field, from its label to its input: where its error must be."""
    return html[html.index('<label for="f-otp"'):html.index('id="f-otp"')]


def _logged_in(client) -> bool:
    return client.get("/api/v1/auth/me").status_code == 200


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _journal(backend, event: str, user_id: int) -> list[JournalEntry]:
    with backend.services.database.session() as s:
        rows = s.scalars(select(JournalEntry).where(JournalEntry.event == event)).all()
        return [r for r in rows if (r.details or {}).get("user_id") == user_id]


def test_enrolment_shows_a_qr_code_and_only_a_confirmed_code_saves_the_secret(backend, make_app, tmp_path):
    app = _with_staff_page(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    email = _unenrolled(app)
    client = client_from(app)

    _open_enrolment_link(app, client, email)
    after_password = _password_step(client, email, next_url="/probe/staff-only")
    assert after_password.status_code == 302 and after_password.location == "/login/enrol"
    # The password alone logs nobody in: no session login, no staff page, no API.
    blocked = client.get("/probe/staff-only")
    assert blocked.status_code == 302 and blocked.location.startswith("/login?next=")
    assert not _logged_in(client)

    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store, private"
    assert '<label for="f-otp">Код из приложения-аутентификатора' in html and 'name="csrf_token"' in html
    png = tmp_path / "enrol.png"
    png.write_bytes(base64.b64decode(_QR_IMAGE.search(html).group(1)))
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=True)
    uri = decoded.stdout.strip()
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == f"/Справка ОМС:{email}"
    query = parse_qs(parts.query)
    secret = query["secret"][0]
    assert query["issuer"] == ["Справка ОМС"] and len(secret) == 32
    assert _SECRET_SHOWN.search(html).group(1).replace(" ", "") == secret  # grouped for typing by hand
    assert f'href="{uri}"' in html.replace("&amp;", "&")  # "add to the app" on the phone itself
    assert secret in client.get("/login/enrol").get_data(as_text=True)  # a reload keeps the secret
    assert _user(app, email).totp_secret is None  # pending in the session only

    wrong = _post_code(client, "/login/enrol", email, _wrong(pyotp.TOTP(secret).now()))
    wrong_html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Код не подошёл" in _otp_field(wrong_html)
    assert 'aria-invalid="true"' in wrong_html and secret in wrong_html.replace(" ", "")
    assert not _logged_in(client) and _user(app, email).totp_secret is None

    confirmed = _post_code(client, "/login/enrol", email, pyotp.TOTP(secret).now())
    assert confirmed.status_code == 302 and confirmed.location == "/probe/staff-only"
    assert client.get("/probe/staff-only").status_code == 200
    user = _user(app, email)
    assert _secret(app, email) == secret and user.totp_last_step is not None
    assert secret not in user.totp_secret and user.totp_secret.startswith("fernet:")  # sealed at rest
    assert user.enrol_token_hash is None  # the link is used up
    assert len(_journal(backend, "totp_enrolled", user.id)) == 1

    # From now on the same account takes the code step, never the enrolment page again.
    again = client_from(app)
    assert _password_step(again, email).location == "/login/code"
    assert again.get("/login/enrol").location == "/login/code"


def test_code_step_for_enrolled_staff(backend, make_app):
    app = _with_staff_page(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    email = add_user(app, "operator")
    secret = _secret(app, email)
    client = client_from(app)

    assert client.get("/login/code").location == "/login"  # no password given yet
    after_password = _password_step(client, email, next_url="/probe/staff-only")
    assert after_password.status_code == 302 and after_password.location == "/login/code"
    assert client.get("/probe/staff-only").location.startswith("/login?next=")
    page = client.get("/login/code")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store, private"
    assert '<label for="f-otp">Код из приложения-аутентификатора' in html
    assert f'name="email" value="{email}"' in html and 'autocomplete="one-time-code"' in html

    wrong = _post_code(client, "/login/code", email, _wrong(pyotp.TOTP(secret).now()))
    assert wrong.status_code == 422
    assert "Неверный одноразовый код" in _otp_field(wrong.get_data(as_text=True))
    assert not _logged_in(client) and client.get("/probe/staff-only").status_code == 302
    letters = _post_code(client, "/login/code", email, "abc")
    assert letters.status_code == 422
    assert "Код из приложения — шесть цифр." in _otp_field(letters.get_data(as_text=True))

    code = pyotp.TOTP(secret).now()
    right = _post_code(client, "/login/code", email, f"{code[:3]} {code[3:]}")  # typed as the app shows it
    assert right.status_code == 302 and right.location == "/probe/staff-only"
    assert client.get("/probe/staff-only").status_code == 200 and _logged_in(client)


def test_a_code_is_accepted_once(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "supervisor")
    code = fresh_otp(app, email)
    api = client_from(app)
    first = api.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, "otp": code})
    assert first.status_code == 200

    replayed = api.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, "otp": code})
    assert replayed.status_code == 401 and _error(replayed)["code"] == "otp_reused"
    assert "уже использован" in _error(replayed)["message"]
    browser = client_from(app)
    _password_step(browser, email)
    on_page = _post_code(browser, "/login/code", email, code)
    assert on_page.status_code == 422 and "уже использован" in _otp_field(on_page.get_data(as_text=True))
    assert not _logged_in(browser)

    # The next code (the next 30-second step, accepted for clock drift) still works.
    assert _post_code(browser, "/login/code", email, fresh_otp(app, email)).status_code == 302
    assert _logged_in(browser)


def test_wrong_codes_use_up_the_login_budget(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "operator")
    secret = _secret(app, email)
    client = client_from(app)
    _password_step(client, email)
    for _ in range(5):
        assert _post_code(client, "/login/code", email, _wrong(pyotp.TOTP(secret).now())).status_code == 422
    limited = _post_code(client, "/login/code", email, pyotp.TOTP(secret).now())
    assert limited.status_code == 429 and "Слишком много попыток" in limited.get_data(as_text=True)
    assert _password_step(client_from(app), email).status_code == 429  # the same per-address budget
    assert not _logged_in(client)

    # The hidden address must be the pending account's: naming another one starts the login over.
    other = add_user(app, "operator")
    tampering = client_from(app)
    _password_step(tampering, other)
    swapped = _post_code(tampering, "/login/code", unique_email(), fresh_otp(app, other))
    assert swapped.status_code == 302 and swapped.location == "/login" and not _logged_in(tampering)


def test_the_second_step_expires(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "analyst")
    client = client_from(app)
    _password_step(client, email)
    with client.session_transaction() as session:
        pending = session["login_pending"]
        pending["since"] -= 16 * 60
        session["login_pending"] = pending
    expired = client.get("/login/code")
    assert expired.status_code == 302 and expired.location == "/login"
    login_page = client.get("/login").get_data(as_text=True)
    assert "Время на ввод кода истекло" in login_page
    late = client.post("/login/code", data={"email": email, "otp": fresh_otp(app, email),
                                             "csrf_token": csrf_token(login_page)})
    assert late.status_code == 302 and late.location == "/login" and not _logged_in(client)


def test_api_tokens_for_staff_and_citizens(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    enrolled = add_user(app, "operator")
    missing = client.post("/api/v1/auth/token", json={"email": enrolled, "password": PASSWORD})
    assert missing.status_code == 401 and _error(missing) == {
        "code": "otp_required", "message": "Введите одноразовый код из приложения-аутентификатора.",
        "fields": [{"field": "otp", "code": "otp_required",
                    "message": "Введите одноразовый код из приложения-аутентификатора."}]}
    wrong = client.post("/api/v1/auth/token",
                        json={"email": enrolled, "password": PASSWORD, "otp": _wrong(fresh_otp(app, enrolled))})
    assert wrong.status_code == 401 and _error(wrong)["code"] == "invalid_otp"
    right = client.post("/api/v1/auth/token",
                        json={"email": enrolled, "password": PASSWORD, "otp": fresh_otp(app, enrolled)})
    assert right.status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(right.get_json()["token"]))
    assert me.get_json()["role"] == "operator"

    unenrolled = _unenrolled(app, "admin")
    refused = client.post("/api/v1/auth/token", json={"email": unenrolled, "password": PASSWORD, "otp": "123456"})
    assert refused.status_code == 403 and _error(refused)["code"] == "totp_enrolment_required"
    assert "приложение-аутентификатор" in _error(refused)["message"]
    guessed = client.post("/api/v1/auth/token", json={"email": unenrolled, "password": "не тот пароль"})
    assert guessed.status_code == 401 and _error(guessed)["code"] == "invalid_credentials"  # reveals nothing

    # Citizens: e-mail and password, exactly as before, on the API and on the page.
    person = add_user(app, "citizen")
    assert client.post("/api/v1/auth/token", json={"email": person, "password": PASSWORD}).status_code == 200
    browser = client_from(app)
    page = login(browser, person, next_url="/api/v1/auth/me")
    assert page.status_code == 302 and page.location == "/api/v1/auth/me"
    assert browser.get("/api/v1/auth/me").get_json()["role"] == "citizen"
    registered = client.post("/api/v1/auth/register", json=citizen(unique_email()))
    assert registered.status_code == 201


def test_reset_totp_cli(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "appeals")
    client = client_from(app)
    token = client.post("/api/v1/auth/token",
                        json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)}).get_json()["token"]

    result = backend.backoffice("users", "reset-totp", "--email", email.upper(), "--actor", "admin@example.ru")
    assert f"second factor of {email} reset" in result.stdout
    user = _user(app, email)
    assert user.totp_secret is None and user.totp_last_step is None
    entries = _journal(backend, "totp_reset", user.id)
    assert len(entries) == 1 and entries[0].actor == "admin@example.ru" and email in entries[0].message
    revoked = client.get("/api/v1/auth/me", headers=bearer(token))  # tokens of the old factor stop working
    assert revoked.status_code == 401 and _error(revoked)["code"] == "invalid_token"
    again = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert again.status_code == 403 and _error(again)["code"] == "totp_enrolment_required"
    without_link = _password_step(client_from(app), email)  # the password alone enrols nothing
    assert without_link.status_code == 403 and "одноразовой ссылке" in without_link.get_data(as_text=True)
    link = backend.backoffice("users", "enrol-link", "--email", email, "--actor", "admin@example.ru").stdout.strip()
    assert link.startswith("http://") and "/login/enrol/" in link
    browser = client_from(app)
    assert browser.get(urlsplit(link).path).status_code == 302
    assert _password_step(browser, email).location == "/login/enrol"  # enrols anew on the page
    assert len(_journal(backend, "enrolment_link_issued", user.id)) == 1

    unknown = backend.backoffice("users", "reset-totp", "--email", unique_email(), check=False)
    assert unknown.returncode == 1 and "не найден" in unknown.stderr


def test_codes_of_the_next_step_are_accepted_for_clock_drift(backend, make_app):
    """Two logins within one 30-second step (tests, or a quick re-login) both succeed."""
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "operator")
    totp = pyotp.TOTP(_secret(app, email))
    step = totp.timecode(time.time())
    client = client_from(app)
    for offset in (0, 1):
        body = {"email": email, "password": PASSWORD, "otp": totp.generate_otp(step + offset)}
        assert client.post("/api/v1/auth/token", json=body).status_code == 200
    too_far = {"email": email, "password": PASSWORD, "otp": totp.generate_otp(step + 3)}
    assert _error(client.post("/api/v1/auth/token", json=too_far))["code"] == "invalid_otp"


def test_an_administrator_issues_an_enrolment_link_on_a_page(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    admin, operator = add_user(app, "admin"), add_user(app, "operator")
    newcomer = _unenrolled(app)
    assert login(client_from(app), operator).status_code == 302
    staff = client_from(app)
    login(staff, operator)
    assert staff.get("/staff/enrolment-links").status_code == 403  # administrators only
    client = client_from(app)
    login(client, admin)
    page = client.get("/staff/enrolment-links").get_data(as_text=True)
    assert '<label for="f-email">Электронная почта сотрудника' in page
    assert 'aria-current="page">Аутентификаторы</a>' in page  # a tab of «Эксплуатация»
    token = csrf_token(page)
    citizen_email = add_user(app, "citizen")
    refused = client.post("/staff/enrolment-links", data={"email": citizen_email, "csrf_token": token})
    assert refused.status_code == 422 and "только сотрудники" in refused.get_data(as_text=True)
    issued = client.post("/staff/enrolment-links", data={"email": newcomer, "csrf_token": token})
    html = issued.get_data(as_text=True)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store, private"
    link = re.search(r"<code>(http[^<]+/login/enrol/[^<]+)</code>", html).group(1)
    browser = client_from(app)
    browser.get(urlsplit(link).path)
    assert _password_step(browser, newcomer).location == "/login/enrol"
    enrolled = client.post("/staff/enrolment-links", data={"email": operator, "csrf_token": token})
    assert enrolled.status_code == 422 and "уже подключено" in enrolled.get_data(as_text=True)


def test_a_secret_stored_before_sealing_still_logs_in(backend, make_app):
    """Rows written before migration 0020 hold the plain secret: they log in until the migration seals them."""
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "operator")
    plain = _secret(app, email)
    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(totp_secret=plain))
        db.session.commit()
    ok = client_from(app).post("/api/v1/auth/token",
                               json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)})
    assert ok.status_code == 200


def test_a_secret_sealed_under_another_key_is_refused_clearly(backend, make_app):
    """After SECRET_KEY changed the stored secret cannot be opened: a clear 401, never a server error."""
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "operator")
    with app.app_context():
        db.session.execute(update(User).where(User.email == email)
                           .values(totp_secret=seal("an-older-key", pyotp.random_base32())))
        db.session.commit()
    r = client_from(app).post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, "otp": "123456"})
    assert r.status_code == 401 and _error(r)["code"] == "invalid_otp"
    assert "Обратитесь к администратору" in _error(r)["message"]
