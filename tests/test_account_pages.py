"""Account pages, CSRF, roles, error pages and security headers through Flask's test client.

Browser tests come later; these drive the same HTML forms a browser without JavaScript would post.
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from tests.support.accounts import (
    PASSWORD,
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
from web.security import login_required_page, public, roles_required, unguarded_endpoints

_MAILBOX_CODE = re.compile(r"Код подтверждения регистрации [^:]*: (\d{6})")


def _error_code(response) -> str:
    return response.get_json()["error"]["code"]


def _with_probe_routes(app):
    """Routes guarded by the decorators under test (registered like any blueprint of the product)."""
    probe = Blueprint("probe", __name__)

    @probe.get("/api/v1/probe/staff")
    @roles_required("operator", "supervisor")
    def staff_api():
        return {"ok": True}

    @probe.get("/probe/operators")
    @roles_required("operator")
    def operators_page():
        return "<p>Страница операторов</p>"

    @probe.get("/probe/mine")
    @login_required_page
    def mine_page():
        return "<p>Личный кабинет</p>"

    @probe.get("/probe/boom")
    @probe.get("/api/v1/probe/boom")
    @public
    def boom():
        raise RuntimeError("a bug")

    app.register_blueprint(probe)
    return app


def test_register_activate_and_log_in_through_the_pages(backend, make_app):
    client = client_from(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    email = unique_email()
    form = csrf_token(client.get("/register").get_data(as_text=True))
    data = registration_form(email, form, phone="8 (999) 123-45-67")
    registered = client.post("/register", data=data)
    assert registered.status_code == 302 and registered.location.startswith("/activate?email=")

    activation_page = client.get(registered.location).get_data(as_text=True)
    assert f"Мы отправили письмо на адрес {email}. Введите код подтверждения из письма." in activation_page
    assert f'value="{email}"' in activation_page and "/demo/mailbox" in activation_page
    code = _MAILBOX_CODE.search(client.get("/demo/mailbox").get_data(as_text=True)).group(1)

    activated = client.post("/activate", data={"email": email, "code": code, "csrf_token": csrf_token(activation_page)})
    assert activated.status_code == 302 and activated.location == "/"  # signed in, on the citizen's home
    home = client.get("/").get_data(as_text=True)
    assert "Адрес электронной почты подтверждён, вы вошли в личный кабинет." in home and "Иванова" in home
    me = client.get("/api/v1/auth/me").get_json()
    assert me["phone"] == "+79991234567" and me["birth_date"] == "1985-03-05"

    client.post("/logout", data={"csrf_token": csrf_token(home)})
    logged_in = login(client, email, next_url="/api/v1/auth/me")
    assert logged_in.status_code == 302 and logged_in.location == "/api/v1/auth/me"

    page = client.get("/demo/mailbox").get_data(as_text=True)
    assert "Иванова Мария Петровна" in page and "Иванова\u00a0М.\u00a0П." in page and "Выйти" in page
    logged_out = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert logged_out.status_code == 302
    assert client.get("/api/v1/auth/me").status_code == 401


def test_registration_errors_are_shown_next_to_the_fields(backend, make_app):
    client = client_from(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    token = csrf_token(client.get("/register").get_data(as_text=True))
    data = registration_form("bad-address", token, birth_date="вчера", last_name="", consent="")
    response = client.post("/register", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in html and html.count('aria-invalid="true"') >= 4
    email_field = html[html.index('<label for="f-email"'):html.index('id="f-email"')]
    assert "Введите адрес электронной почты" in email_field
    assert "Введите дату в формате ДД.ММ.ГГГГ" in html
    assert "дайте согласие на обработку персональных данных" in html
    assert 'value="bad-address"' in html and PASSWORD not in html  # refilled, except the password


def test_login_page_errors_and_safe_redirects(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    email = add_user(app, "citizen")
    client = client_from(app)
    wrong = login(client, email, "не тот пароль")
    assert wrong.status_code == 422
    assert "Неверный адрес электронной почты или пароль." in wrong.get_data(as_text=True)
    for target, expected in [("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
                             ("javascript:alert(1)", "/"), ("/\t/evil.example", "/"),
                             ("/demo/mailbox?page=2", "/demo/mailbox?page=2")]:
        response = login(client_from(app), email, next_url=target)
        assert response.status_code == 302 and response.location == expected


def test_csrf_is_required_where_the_session_cookie_authenticates(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    no_token = client.post("/login", data={"email": "x@example.ru", "password": PASSWORD})
    assert no_token.status_code == 400 and "Форма устарела" in no_token.get_data(as_text=True)

    staff = add_user(app, "operator")
    assert login(client, staff).status_code == 302
    assert client.get("/api/v1/auth/me").status_code == 200  # reading with the cookie is fine

    cookie_only = client.post("/api/v1/auth/register", json=citizen(unique_email()))
    assert cookie_only.status_code == 403 and _error_code(cookie_only) == "csrf_failed"
    page_token = csrf_token(client.get("/demo/mailbox").get_data(as_text=True))
    with_header = client.post("/api/v1/auth/register", json=citizen(unique_email()),
                              headers={"X-CSRFToken": page_token})
    assert with_header.status_code == 201

    api_client = client_from(app)  # an integration: no session, so no CSRF token either
    api_token = api_client.post("/api/v1/auth/token", json={"email": staff, "password": PASSWORD,
                                                            "otp": fresh_otp(app, staff)}).get_json()["token"]
    with_bearer = client.post("/api/v1/auth/register", json=citizen(unique_email()), headers=bearer(api_token))
    assert with_bearer.status_code == 201


def test_role_checks(backend, make_app):
    app = _with_probe_routes(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    citizen_email, operator_email = add_user(app, "citizen"), add_user(app, "operator")
    client = client_from(app)

    assert client.get("/api/v1/probe/staff").status_code == 401
    anonymous_page = client.get("/probe/mine")
    assert anonymous_page.status_code == 302 and anonymous_page.location == "/login?next=/probe/mine"

    token = client.post("/api/v1/auth/token", json={"email": citizen_email, "password": PASSWORD}).get_json()["token"]
    forbidden = client.get("/api/v1/probe/staff", headers=bearer(token))
    assert forbidden.status_code == 403 and _error_code(forbidden) == "forbidden"
    login(client, citizen_email)
    assert client.get("/probe/mine").status_code == 200
    page = client.get("/probe/operators")
    assert page.status_code == 403 and "Доступ запрещён" in page.get_data(as_text=True)

    operator = client_from(app)
    login(operator, operator_email)
    assert operator.get("/probe/operators").status_code == 200
    assert operator.get("/api/v1/probe/staff").get_json() == {"ok": True}

    assert [e for e in unguarded_endpoints(app) if e.split(".")[0] in
            ("accounts", "auth_api", "demo_mailbox", "probe")] == []


def test_errors_of_the_api_and_of_pages(backend, make_app):
    app = _with_probe_routes(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    client = client_from(app)
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.get_json() == {
        "error": {"code": "not_found", "message": "Запрошенный объект не найден.", "fields": []}}
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Страница не найдена" in page.get_data(as_text=True)

    method = client.get("/api/v1/auth/token")
    assert method.status_code == 405 and _error_code(method) == "method_not_allowed"
    assert "POST" in method.headers["Allow"]
    too_large = client.post("/api/v1/auth/register", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                            content_type="application/json")
    assert too_large.status_code == 413 and _error_code(too_large) == "too_large"

    bug = client.get("/api/v1/probe/boom")
    assert bug.status_code == 500 and _error_code(bug) == "internal_error"
    bug_page = client.get("/probe/boom")
    assert bug_page.status_code == 500 and "Ошибка сервера" in bug_page.get_data(as_text=True)


def test_security_headers_and_session_cookie(backend, make_app):
    client = client_from(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    framed = client_from(make_app(SMTP_URL="", FRAME_ANCESTORS="'self' https://portal.example",
                                  SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE="1"))
    response = framed.get("/login")
    assert "frame-ancestors 'self' https://portal.example" in response.headers["Content-Security-Policy"]
    assert "SameSite=None" in response.headers["Set-Cookie"] and "Secure" in response.headers["Set-Cookie"]

    with pytest.raises(ValueError, match="SESSION_COOKIE_SECURE"):
        make_app(SESSION_COOKIE_SAMESITE="None")


def test_logged_in_responses_are_not_cached(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    assert "Cache-Control" not in client.get("/demo/mailbox").headers
    login(client, add_user(app, "citizen"))
    assert client.get("/demo/mailbox").headers["Cache-Control"] == "no-store, private"


def test_embedded_mode_hides_the_portal_chrome(backend, make_app):
    client = client_from(make_app(SMTP_URL="", DEMO_MAILBOX="1"))
    full = client.get("/login").get_data(as_text=True)
    assert 'class="site-header"' in full and 'class="site-footer"' in full and '<html lang="ru">' in full

    embedded = client.get("/login?embed=1").get_data(as_text=True)
    assert 'class="site-header"' not in embedded and 'class="site-footer"' not in embedded
    assert '<form method="post" action="/login"' in embedded
    assert 'class="site-header"' not in client.get("/register").get_data(as_text=True)  # kept for the session
    assert 'class="site-header"' in client.get("/register?embed=0").get_data(as_text=True)
