"""New passwords: not one of the shipped common passwords (nor one with digits appended), not a run of
a few characters, not the person's own e-mail, name or birth date - at registration (API and page), in
a password reset and for accounts an administrator creates; the Russian reason next to the field.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tasks.accounts.models import User
from tasks.accounts.passwords import COMMON, PERSONAL, TOO_SIMPLE, common_passwords, password_problem
from tests.support.accounts import PASSWORD, citizen, client_from, csrf_token, registration_form, unique_email
from web.extensions import db

PERSON = ("maria.ivanova@example.ru", "Иванова", "Мария", "Петровна", "1985-03-05")


@pytest.mark.parametrize(("password", "problem"), [
    ("1234567890", COMMON), ("qwertyuiop", COMMON), ("Password123", COMMON), ("password2024!", COMMON),
    ("aaaaaaaaaaaa", TOO_SIMPLE), ("1212121212", TOO_SIMPLE),
    ("maria.ivanova-1", PERSONAL), ("Иванова-навсегда", PERSONAL), ("ИВАНОВА_2024!!", PERSONAL),
    ("мария-и-море-7", PERSONAL), ("zz05031985zz", PERSONAL), ("сад19850305ок", PERSONAL), ("пароль2024", COMMON),
    ("Верный-пароль-2024", None), ("тёплый-ветер-с-моря", None),
])
def test_password_rules(password: str, problem: str | None) -> None:
    assert password_problem(password, personal=PERSON) == problem


def test_the_shipped_list_is_read_and_large_enough() -> None:
    known = common_passwords()
    assert len(known) > 10_000 and "1234567890" in known and "qwerty" in known


def test_registration_refuses_weak_passwords_next_to_the_field(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    for password, message in (("1234567890", COMMON), ("Мария-1985-03-05", PERSONAL)):
        email = unique_email()
        r = client.post("/api/v1/auth/register", json=citizen(email, password=password))
        assert r.status_code == 422
        assert r.get_json()["error"]["fields"] == [{"field": "password", "code": "weak_password", "message": message}]
        with app.app_context():
            assert db.session.scalar(select(User).where(User.email == email)) is None

    # A weak password is reported with the other errors, also when another field is not even a string.
    broken = client.post("/api/v1/auth/register",
                         json={**citizen(unique_email(), password="1234567890"), "first_name": {"x": [8.5]}})
    assert broken.status_code == 422
    assert {"field": "password", "code": "weak_password", "message": COMMON} in broken.get_json()["error"]["fields"]
    assert "first_name" in {f["field"] for f in broken.get_json()["error"]["fields"]}

    token = csrf_token(client.get("/register").get_data(as_text=True))
    page = client.post("/register", data=registration_form(unique_email(), token, password="qwertyuiop"))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    field = html[html.index('<label for="f-password"'):html.index('id="f-password"')]
    assert COMMON in field and 'id="f-password-error"' in field


def test_accounts_made_by_an_administrator_follow_the_same_rules(backend):
    email = unique_email("staff")
    weak = backend.backoffice("users", "add", "--email", email, "--role", "operator", "--password", "password123",
                              check=False)
    assert weak.returncode == 1 and COMMON in weak.stderr
    own = backend.backoffice("users", "add", "--email", email, "--role", "operator", "--password",
                             email.split("@")[0] + "!", check=False)
    assert own.returncode == 1 and PERSONAL in own.stderr
    assert backend.backoffice("users", "add", "--email", email, "--role", "operator", "--password",
                              PASSWORD).returncode == 0


def test_a_hash_of_another_profile_verifies_and_is_upgraded_at_login(backend, make_app):
    """The suite hashes with argon2-cffi's CHEAPEST profile (tests/support/backend.py); production's default is
    RFC 9106's low-memory one. A hash made under one profile still signs in under the other, and the login
    hashes the password again with the configured profile."""
    email = unique_email("citizen")
    backend.backoffice("users", "add", "--email", email, "--role", "citizen", "--password", PASSWORD,
                       PASSWORD_HASH_PROFILE="RFC_9106_LOW_MEMORY")
    app = make_app()  # the suite's profile: CHEAPEST
    with app.app_context():
        before = db.session.scalar(select(User.password_hash).where(User.email == email))
    assert "m=65536,t=3,p=4" in before
    token = client_from(app).post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert token.status_code == 200
    with app.app_context():
        after = db.session.scalar(select(User.password_hash).where(User.email == email))
    assert after != before and "m=8,t=1,p=1" in after


def test_an_unknown_password_hash_profile_is_refused_by_name(backend):
    with pytest.raises(ValueError, match="PASSWORD_HASH_PROFILE='WEAKEST': one of RFC_9106_LOW_MEMORY"):
        backend.config(PASSWORD_HASH_PROFILE="weakest")
