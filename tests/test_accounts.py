"""Accounts over the JSON API, the CLI and the mail paths, on both backends.

Mail goes through a real SMTP server (aiosmtpd) or, in embedded mode, into files that the demo
mailbox page shows; codes are read from there, never from the database.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import delete, select, update

from engine.clock import utcnow
from tasks import mail as mail_module
from tasks.accounts.models import ActivationCode, ApiToken, User
from tasks.config import AppConfig
from tasks.mail import MailError, send_mail, stored_mails
from tests.support.accounts import PASSWORD, bearer, citizen, client_from, csrf_token, unique_email
from tests.support.queries import sql_log
from tests.support.smtp import SmtpServer, activation_code
from web.extensions import db


def _db(backend):
    return backend.services.database


def _error(response) -> dict:
    """The API's error body; fails when the response does not have that exact shape."""
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    for field in body["error"]["fields"]:
        assert set(field) == {"field", "code", "message"} and field["message"]
    return body["error"]


def _register(client, smtp: SmtpServer, email: str) -> str:
    response = client.post("/api/v1/auth/register", json=citizen(email))
    assert response.status_code == 201, response.get_json()
    return activation_code(smtp.wait_for_mail(email))


def _token(client, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def test_register_activate_token_and_call_a_protected_endpoint(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email = unique_email("Maria")

    response = client.post("/api/v1/auth/register", json=citizen(email))
    assert response.status_code == 201
    assert response.get_json()["status"] == "pending_activation"
    mail = smtp_server.wait_for_mail(email.lower())
    code = activation_code(mail)
    assert code in mail.text and "Мария" in mail.text

    refused = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and _error(refused)["code"] == "not_activated"

    activated = client.post("/api/v1/auth/activate", json={"email": email, "code": code})
    assert activated.status_code == 200 and activated.get_json() == {"email": email.lower(), "status": "active"}

    issued = client.post("/api/v1/auth/token", json={"email": email.upper(), "password": PASSWORD})
    assert issued.status_code == 200
    body = issued.get_json()
    assert set(body) == {"token", "expires_at"} and body["expires_at"] > utcnow().isoformat()

    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json()["email"] == email.lower() and me.get_json()["role"] == "citizen"
    assert me.get_json()["birth_date"] == "1985-03-05"

    anonymous = client.get("/api/v1/auth/me")
    assert anonymous.status_code == 401 and _error(anonymous)["code"] == "unauthorized"
    forged = client.get("/api/v1/auth/me", headers=bearer("bo_" + "x" * 43))
    assert forged.status_code == 401 and _error(forged)["code"] == "invalid_token"


def test_only_hashes_are_stored(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email = unique_email()
    code = _register(client, smtp_server, email)
    with _db(backend).session() as s:
        user = s.scalar(select(User).where(User.email == email))
        row = s.scalar(select(ActivationCode).where(ActivationCode.user_id == user.id))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert code not in row.code_hash and len(row.code_hash) == 64
    client.post("/api/v1/auth/activate", json={"email": email, "code": code})
    token = _token(client, email)
    with _db(backend).session() as s:
        hashes = s.scalars(select(ApiToken.token_hash).join(User).where(User.email == email)).all()
        assert len(hashes) == 1 and token not in hashes[0]


def test_five_wrong_codes_burn_the_code(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email = unique_email()
    code = _register(client, smtp_server, email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    unknown = client.post("/api/v1/auth/activate", json={"email": unique_email(), "code": wrong})
    for _ in range(4):  # each wrong code answers exactly as a code for an address nobody registered
        response = client.post("/api/v1/auth/activate", json={"email": email, "code": wrong})
        error = _error(response)
        assert response.status_code == 400 and error["code"] == "invalid_code"
        assert response.get_json() == unknown.get_json() and error["fields"][0]["field"] == "code"
    fifth = client.post("/api/v1/auth/activate", json={"email": email, "code": wrong})
    assert fifth.status_code == 400 and _error(fifth)["code"] == "code_burned"
    too_late = client.post("/api/v1/auth/activate", json={"email": email, "code": code})
    assert too_late.status_code == 400 and _error(too_late)["code"] == "code_burned"

    # a burned registration may be made again at once, with a fresh code
    new_code = _register(client, smtp_server, email)
    activated = client.post("/api/v1/auth/activate", json={"email": email, "code": new_code})
    assert activated.status_code == 200


def test_expired_code_is_refused_and_registration_can_be_repeated(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email = unique_email()
    code = _register(client, smtp_server, email)

    live = client.post("/api/v1/auth/register", json=citizen(email, password="Другой-пароль-2024"))
    assert live.status_code == 201  # answered as any registration; the live code is not replaced
    assert smtp_server.wait_for_mail(email).subject == "Попытка повторной регистрации"

    with _db(backend).session() as s:  # half an hour passes
        user_id = s.scalar(select(User.id).where(User.email == email))
        s.execute(update(ActivationCode).where(ActivationCode.user_id == user_id)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = client.post("/api/v1/auth/activate", json={"email": email, "code": code})
    assert expired.status_code == 400 and _error(expired)["code"] == "code_expired"

    new_code = _register(client, smtp_server, email)
    assert client.post("/api/v1/auth/activate", json={"email": email, "code": new_code}).status_code == 200


def test_a_taken_address_answers_like_a_new_one_and_its_owner_hears_of_it(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    email, fresh = unique_email(), unique_email()
    code = _register(client, smtp_server, email)
    client.post("/api/v1/auth/activate", json={"email": email, "code": code})

    again = client.post("/api/v1/auth/register", json=citizen(email.upper(), first_name="Анна"))
    new = client.post("/api/v1/auth/register", json=citizen(fresh))
    assert again.status_code == new.status_code == 201
    same = {**new.get_json(), "email": email, "message": new.get_json()["message"].replace(fresh, email)}
    assert again.get_json() == same
    notice = smtp_server.wait_for_mail(email)
    assert notice.subject == "Попытка повторной регистрации" and "уже есть" in notice.text
    assert not re.search(r"\b\d{6}\b", notice.text)  # no code: nothing in it to take over the account
    with _db(backend).session() as s:  # the account is as it was: the old password still logs in
        assert s.scalar(select(User.first_name).where(User.email == email)) == "Мария"
    _token(client, email)

    repeat = client.post("/api/v1/auth/activate", json={"email": email, "code": code})
    unknown = client.post("/api/v1/auth/activate", json={"email": unique_email(), "code": code})
    assert repeat.status_code == unknown.status_code == 400 and repeat.get_json() == unknown.get_json()


def test_field_errors_come_in_the_contract_shape(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    body = {"email": "not-an-email", "password": "short", "phone": "12345", "last_name": "Smith",
            "birth_date": "2999-01-01", "nickname": "x"}
    response = client.post("/api/v1/auth/register", json=body)
    error = _error(response)
    assert response.status_code == 422 and error["code"] == "validation_failed"
    codes = {f["field"]: f["code"] for f in error["fields"]}
    assert codes["email"] == "format" and codes["password"] == "too_short" and codes["phone"] == "format"
    assert codes["last_name"] == "format" and codes["first_name"] == "required"
    assert codes["nickname"] == "unknown_field" and "birth_date" in codes
    assert smtp_server.messages == []

    not_json = client.post("/api/v1/auth/register", data="email=a", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415 and _error(not_json)["code"] == "unsupported_media_type"
    broken = client.post("/api/v1/auth/register", data="{", content_type="application/json")
    assert broken.status_code == 400 and _error(broken)["code"] == "invalid_json"


def test_unreachable_smtp_server_leaves_no_registration(backend, make_app):
    server = SmtpServer().start()
    url = server.url
    server.stop()  # nothing listens there any more
    client = client_from(make_app(SMTP_URL=url))
    email = unique_email()
    response = client.post("/api/v1/auth/register", json=citizen(email))
    assert response.status_code == 503 and _error(response)["code"] == "mail_unavailable"
    with _db(backend).session() as s:
        assert s.scalar(select(User).where(User.email == email)) is None


def test_failed_logins_are_rate_limited(backend, make_app):
    app = make_app()
    client = client_from(app)
    email = unique_email("user")
    assert backend.backoffice("users", "add", "--email", email, "--role", "citizen", "--password",
                              PASSWORD).returncode == 0
    for _ in range(6):  # successful logins do not use up the budget
        _token(client, email)
    for _ in range(5):
        wrong = client.post("/api/v1/auth/token", json={"email": email, "password": "неверный-пароль"})
        assert wrong.status_code == 401 and _error(wrong)["code"] == "invalid_credentials"
    limited = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert limited.status_code == 429 and _error(limited)["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0

    token = csrf_token(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})  # same budget
    assert page.status_code == 429 and "Слишком много попыток" in page.get_data(as_text=True)

    other = unique_email("user")  # the budget is per address: another account from here still gets in
    backend.backoffice("users", "add", "--email", other, "--role", "citizen", "--password", PASSWORD)
    _token(client, other)


def test_failed_logins_from_one_client_address_are_rate_limited(backend, make_app):
    client = client_from(make_app())
    for _ in range(50):  # a different address every time: only the per-address budget counts them
        wrong = client.post("/api/v1/auth/token", json={"email": unique_email(), "password": PASSWORD})
        assert wrong.status_code == 401
    limited = client.post("/api/v1/auth/token", json={"email": unique_email(), "password": PASSWORD})
    assert limited.status_code == 429 and _error(limited)["code"] == "rate_limited"


def test_api_token_logout(backend, make_app):
    client = client_from(make_app())
    email = unique_email("user")
    backend.backoffice("users", "add", "--email", email, "--role", "citizen", "--password", PASSWORD)
    token = _token(client, email)
    assert client.delete("/api/v1/auth/token", headers=bearer(token)).status_code == 204
    after = client.get("/api/v1/auth/me", headers=bearer(token))
    assert after.status_code == 401 and _error(after)["code"] == "invalid_token"


def test_a_token_and_its_user_are_read_afresh_in_one_statement_on_every_request(backend, make_app):
    """Nothing of a token is remembered between requests: a token revoked, a user given another role or
    deactivated elsewhere (another web process, a script on the database) counts on the very next request.
    The lookup is one SELECT; its note of the last use is written at most once a minute."""
    app = make_app()
    client = client_from(app)
    email = unique_email("user")
    backend.backoffice("users", "add", "--email", email, "--role", "citizen", "--password", PASSWORD)
    token = _token(client, email)
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200  # notes the first use
    with app.app_context():
        engine = db.engine
    with sql_log(engine) as log:
        again = client.get("/api/v1/auth/me", headers=bearer(token))
    assert again.status_code == 200 and again.get_json()["role"] == "citizen"
    token_statements = [" ".join(s.split()) for s in log.statements if "api_token" in s]
    assert len(token_statements) == 1 and token_statements[0].startswith("SELECT"), log.report()
    database = _db(backend)
    with database.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert s.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == user.id)) is not None
        s.execute(update(User).where(User.id == user.id).values(role="operator"))
    refused = client.post("/api/v1/applications", json={}, headers=bearer(token))
    assert refused.status_code == 403 and _error(refused)["code"] == "forbidden"
    assert client.get("/api/v1/auth/me", headers=bearer(token)).get_json()["role"] == "operator"
    with database.session() as s:
        s.execute(update(User).where(User.id == user.id).values(role="citizen", is_active=False))
    gone = client.get("/api/v1/auth/me", headers=bearer(token))
    assert gone.status_code == 401 and _error(gone)["code"] == "invalid_token"
    with database.session() as s:
        s.execute(update(User).where(User.id == user.id).values(is_active=True))
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    with database.session() as s:
        s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    revoked = client.get("/api/v1/auth/me", headers=bearer(token))
    assert revoked.status_code == 401 and _error(revoked)["code"] == "invalid_token"


def test_staff_tokens_need_an_enrolled_second_factor(backend, make_app):
    client = client_from(make_app())
    email = unique_email("admin")
    backend.backoffice("users", "add", "--email", email, "--role", "admin", "--password", PASSWORD)
    unenrolled = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert unenrolled.status_code == 403 and _error(unenrolled)["code"] == "totp_enrolment_required"
    secret = pyotp.random_base32()
    with _db(backend).session() as s:
        s.execute(update(User).where(User.email == email).values(totp_secret=secret))

    missing = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert missing.status_code == 401 and _error(missing)["code"] == "otp_required"
    wrong_otp = f"{(int(pyotp.TOTP(secret).now()) + 500000) % 10**6:06d}"
    wrong = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, "otp": wrong_otp})
    assert wrong.status_code == 401 and _error(wrong)["code"] == "invalid_otp"
    right = client.post("/api/v1/auth/token",
                        json={"email": email, "password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
    assert right.status_code == 200


def test_users_add_cli(backend, make_app):
    client = client_from(make_app())
    email = unique_email("Operator")
    result = backend.backoffice("users", "add", "--email", email, "--role", "operator")
    assert f"user {email.lower()} created with role operator" in result.stdout
    password = result.stdout.split("password: ", 1)[1].split("\n", 1)[0].strip()
    # An administrator creates staff: the one-time link for the authenticator comes with the account.
    link = result.stdout.split("enrolment link (one-time, 3 days): ", 1)[1].strip()
    assert "/login/enrol/" in link and " " not in link, link
    # Staff are active at once: the password is accepted, and the next step is enrolling a second factor.
    refused = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert refused.status_code == 403 and _error(refused)["code"] == "totp_enrolment_required"
    with _db(backend).session() as s:
        assert s.scalar(select(User.role).where(User.email == email.lower())) == "operator"

    duplicate = backend.backoffice("users", "add", "--email", email, "--role", "admin", check=False)
    assert duplicate.returncode == 1 and "уже зарегистрирован" in duplicate.stderr
    unknown = backend.backoffice("users", "add", "--email", unique_email(), "--role", "superuser", check=False)
    assert unknown.returncode == 2 and "superuser" in unknown.stderr
    weak = backend.backoffice("users", "add", "--email", unique_email(), "--role", "admin", "--password", "123",
                              check=False)
    assert weak.returncode == 1 and "не менее 10 символов" in weak.stderr


def test_without_smtp_mail_goes_to_files_and_the_mailbox_page(backend, make_app, caplog):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    email = unique_email()
    with caplog.at_level("INFO", logger="tasks.mail"):
        assert client.post("/api/v1/auth/register", json=citizen(email)).status_code == 201
    mail = next(m for m in stored_mails(app.extensions["backoffice_config"].mail_dir) if m.to == email)
    code = activation_code(mail)
    assert mail.subject == "Код подтверждения регистрации"
    assert "stored in" in caplog.text and code not in caplog.text and email not in caplog.text

    page = client.get("/demo/mailbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert email in html and code in html
    assert client.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200


def test_mailbox_page_does_not_exist_with_smtp(backend, make_app, smtp_server):
    client = client_from(make_app(SMTP_URL=smtp_server.url))
    assert client.get("/demo/mailbox").status_code == 404


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on 127.0.0.1
@pytest.mark.parametrize("kind", ["plain", "authenticated"])
def test_send_mail_over_smtp(tmp_path, kind):
    server = SmtpServer(("robot", "p@ss word") if kind == "authenticated" else None).start()
    try:
        env = {"BACKOFFICE_DATA_DIR": str(tmp_path), "SMTP_URL": server.url,
               "MAIL_FROM": "Справка ОМС <robot@oms.example>"}
        config = AppConfig.from_env(env)
        send_mail(config, "Someone@Example.ru", "Проверка «кавычек»", "Текст письма", "<p>Текст письма</p>")
        mail = server.wait_for_mail("someone@example.ru")
        assert mail.subject == "Проверка «кавычек»" and mail.text.strip() == "Текст письма"
        assert mail.html is not None and "<p>Текст письма</p>" in mail.html
        assert mail.mail_from == "robot@oms.example"
    finally:
        server.stop()


def test_a_letter_to_a_cyrillic_domain_goes_in_utf8_and_no_header_spans_lines(tmp_path):
    """A mailbox on a Cyrillic domain cannot be written in an ASCII header: the letter goes over SMTPUTF8
    (a server without it refuses it, MailError), its other headers as for any letter; a header value with
    a line break (a forged second header) is refused before anything is sent."""
    server = SmtpServer().start()
    plain = SmtpServer(smtputf8=False).start()
    try:
        config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(tmp_path), "SMTP_URL": server.url,
                                     "MAIL_FROM": "Справка ОМС <robot@oms.example>"})
        send_mail(config, "иван@почта.рф", "Заявление принято", "Текст письма", dedup_key="call:7:email:1")
        mail = server.wait_for_mail("иван@почта.рф")
        assert (mail.subject, mail.text.strip(), str(mail.message["To"])) == (
            "Заявление принято", "Текст письма", "иван@почта.рф")
        assert mail.message["From"].addresses[0].display_name == "Справка ОМС"
        assert mail.message["Message-ID"].startswith("<notice.")
        send_mail(config, "petr@example.ru", "Заявление принято", "Текст письма")  # the same connection goes on
        assert server.wait_for_mail("petr@example.ru").subject == "Заявление принято"
        with pytest.raises(MailError):
            send_mail(replace(config, smtp_url=plain.url), "иван@почта.рф", "Заявление принято", "Текст письма")
        forged = (("petr@example.ru", "Тема\nBcc: all@example.ru"), ("petr@example.ru\r\nBcc: x@y.ru", "Тема"))
        for to, subject in forged:
            with pytest.raises(ValueError):
                send_mail(config, to, subject, "Текст письма")
        assert [m.subject for m in server.messages] == ["Заявление принято", "Заявление принято"]
    finally:
        server.stop()
        plain.stop()


def test_a_threads_messages_share_one_smtp_connection_and_a_dead_one_is_replaced(tmp_path, monkeypatch):
    server = SmtpServer().start()
    try:
        env = {"BACKOFFICE_DATA_DIR": str(tmp_path), "SMTP_URL": server.url}
        config = AppConfig.from_env(env)

        def send(subject: str) -> str:
            send_mail(config, "reuse@example.ru", subject, "Текст письма")
            return server.wait_for_mail("reuse@example.ru", timeout=10).subject

        assert [send(f"Письмо {i}") for i in range(3)] == ["Письмо 0", "Письмо 1", "Письмо 2"]
        assert server.sessions == 1
        server.stop()
        server.start()  # restarted between two messages: the kept connection is dead, a new one takes the next
        assert send("После перезапуска") == "После перезапуска"
        assert server.sessions == 2
        server.stop()
        with pytest.raises(MailError):  # down: the kept connection is dead and no new one can be opened
            send_mail(config, "reuse@example.ru", "Не дойдёт", "Текст письма")
        server.start()
        assert send("Снова работает") == "Снова работает"
        assert server.sessions == 3
        monkeypatch.setattr(mail_module, "KEEP_IDLE_S", 0.0)  # idle too long: closed, and a new one opened
        assert send("После простоя") == "После простоя"
        assert server.sessions == 4
        assert [m.subject for m in server.messages].count("Не дойдёт") == 0
    finally:
        server.stop()


def test_demo_mailbox_is_off_unless_the_demo_switch_is_on(backend, make_app) -> None:
    """Before SMTP_URL is configured a real deployment - on PostgreSQL or embedded, as the Docker image
    runs - must not publish everyone's activation codes: only DEMO_MAILBOX=1 (`make run`) opens the page."""
    app = make_app(SMTP_URL="", DEMO_MAILBOX="0")
    assert client_from(app).get("/demo/mailbox").status_code == 404
    data_dir = {"BACKOFFICE_DATA_DIR": str(backend.data_dir)}
    assert AppConfig.from_env({"DATABASE_URL": "postgresql+psycopg://db/x", **data_dir}).demo_mailbox is False
    assert AppConfig.from_env(data_dir).demo_mailbox is False
    assert AppConfig.from_env({"DEMO_MAILBOX": "1", **data_dir}).demo_mailbox is True
