"""Sessions that end: a cookie copied before logout (or before a role change, a deactivation, a TOTP
reset) and replayed afterwards from another client gets the login page or 401; staff sessions end
after their idle and absolute limits. On both backends, with the real app and the CLI.
"""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import JournalEntry
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, csrf_token, fresh_otp, login
from web.security import LOGIN_AT, SEEN_AT

ENV = {"SMTP_URL": "", "DEMO_MAILBOX": "1"}


def _logged_in(app: Flask, role: str) -> tuple[str, FlaskClient]:
    email = add_user(app, role)
    client = client_from(app)
    assert login(client, email).status_code == 302
    return email, client


def _replayed(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another client (another address) holding the session cookie `client` had."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = client_from(app)
    other.set_cookie("session", cookie.value)
    return other


def _logout(client: FlaskClient) -> None:
    home = client.get("/", follow_redirects=True).get_data(as_text=True)  # staff land on their own page
    assert client.post("/logout", data={"csrf_token": csrf_token(home)}).status_code == 302


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login")


def test_a_cookie_saved_before_logout_opens_nothing_afterwards(backend, make_app):
    app = make_app(**ENV)
    _, citizen = _logged_in(app, "citizen")
    saved = _replayed(app, citizen)
    assert saved.get("/applications").status_code == 200  # the copy works while the session lives
    _, boss = _logged_in(app, "supervisor")
    boss_saved = _replayed(app, boss)
    assert boss_saved.get("/inbox?queue=all").status_code == 200

    for client in (citizen, boss):
        _logout(client)

    assert _sent_to_login(saved.get("/applications"))
    assert saved.get("/api/v1/applications").status_code == 401
    assert _sent_to_login(boss_saved.get("/inbox?queue=all"))
    assert boss_saved.get("/api/v1/tasks?queue=all").status_code == 401
    refreshed = saved.get("/applications")  # nor is the dead cookie refreshed into a live one
    assert _sent_to_login(refreshed) and _sent_to_login(saved.get("/applications"))


def test_logging_in_again_after_logout_works(backend, make_app):
    app = make_app(**ENV)
    email, client = _logged_in(app, "citizen")
    _logout(client)
    assert login(client, email).status_code == 302
    assert client.get("/applications").status_code == 200


def _age_session(client: FlaskClient, *, idle: float = 0, since_login: float = 0) -> None:
    """Move the session's clock back, as if the last request (or the login) had come that long ago."""
    now = int(time.time())
    with client.session_transaction() as session:
        session[SEEN_AT] = now - int(idle)
        session[LOGIN_AT] = now - int(since_login)


def test_staff_sessions_end_after_30_minutes_idle_and_12_hours_in_all(backend, make_app):
    app = make_app(**ENV)
    _, operator = _logged_in(app, "operator")
    _age_session(operator, idle=29 * 60, since_login=11 * 3600)
    assert operator.get("/inbox").status_code == 200  # within both limits: the request renews the idle clock
    _age_session(operator, idle=29 * 60, since_login=3600)
    assert operator.get("/inbox/poll").status_code == 200  # the page's own polling is no activity
    with operator.session_transaction() as session:
        assert time.time() - session[SEEN_AT] >= 29 * 60
    _age_session(operator, idle=31 * 60, since_login=3600)
    assert _sent_to_login(operator.get("/inbox"))

    _, supervisor = _logged_in(app, "supervisor")
    _age_session(supervisor, idle=60, since_login=12 * 3600 + 60)
    assert _sent_to_login(supervisor.get("/inbox?queue=all"))

    _, citizen = _logged_in(app, "citizen")  # citizens keep the cookie's own lifetime
    _age_session(citizen, idle=31 * 60, since_login=13 * 3600)
    assert citizen.get("/applications").status_code == 200


def test_the_staff_limits_are_configurable(backend, make_app):
    app = make_app(**ENV, STAFF_SESSION_IDLE_MINUTES="5", STAFF_SESSION_MAX_HOURS="1")
    _, operator = _logged_in(app, "operator")
    _age_session(operator, idle=4 * 60, since_login=50 * 60)
    assert operator.get("/inbox").status_code == 200
    _age_session(operator, idle=6 * 60, since_login=50 * 60)
    assert _sent_to_login(operator.get("/inbox"))
    _, other = _logged_in(app, "operator")
    _age_session(other, idle=60, since_login=61 * 60)
    assert _sent_to_login(other.get("/inbox"))


def _token(client: FlaskClient, app: Flask, email: str) -> str:
    r = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_role_change_deactivation_and_totp_reset_end_sessions_and_tokens(backend, make_app):
    app = make_app(**ENV)
    for command in (["set-role", "--role", "appeals"], ["deactivate"], ["reset-totp"]):
        email, client = _logged_in(app, "operator")
        token = _token(client_from(app), app, email)
        saved = _replayed(app, client)
        assert saved.get("/inbox").status_code == 200
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200

        backend.backoffice("users", *command[:1], "--email", email, *command[1:], "--actor", "admin:test")

        assert _sent_to_login(client.get("/inbox")) and _sent_to_login(saved.get("/inbox")), command
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401, command
    with backend.services.database.session() as s:
        kinds = set(s.scalars(select(JournalEntry.event).where(JournalEntry.actor == "admin:test")))
    assert {"role_changed", "user_deactivated", "totp_reset"} <= kinds


def test_a_role_change_takes_effect_at_the_next_login(backend, make_app):
    app = make_app(**ENV)
    email, client = _logged_in(app, "operator")
    backend.backoffice("users", "set-role", "--email", email, "--role", "supervisor")
    assert login(client, email).status_code == 302
    assert client.get("/inbox?queue=all").status_code == 200  # «Все» is a supervisor's queue
    unknown = backend.backoffice("users", "deactivate", "--email", "nobody@example.ru", check=False)
    assert unknown.returncode == 1 and "не найден" in unknown.stderr
