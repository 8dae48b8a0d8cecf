"""Landing pages and menus per role, the login detour of anonymous visitors, activation dead ends and /verify.

Through Flask's test client, as a browser without JavaScript would; the Chromium side (one line on a
desktop, the folding menu on a phone, screenshots) is tests/test_browser_roles.py.
"""

from __future__ import annotations

import re

from flask import url_for

from tasks.accounts.roles import ROLES
from tasks.cases.models.cases import Certificate
from tasks.mail import stored_mails
from tasks.verification import verification_code
from tests.support.accounts import (
    PASSWORD,
    add_user,
    client_from,
    csrf_token,
    login,
    registration_form,
    unique_email,
)
from tests.support.product import Product
from tests.support.smtp import activation_code
from web.navigation import MENUS, home_endpoint, menu_for

ENV = {"SMTP_URL": "", "DEMO_MAILBOX": "1", "SUPPORT_PHONE": "8 800 555-35-35", "SUPPORT_EMAIL": "help@oms.example"}
LANDING = {"citizen": "/", "operator": "/inbox", "appeals": "/inbox", "support": "/inbox", "supervisor": "/dashboard",
           "analyst": "/processes", "admin": "/dashboard"}


def _menu(html: str) -> list[tuple[str, bool]]:
    """(href, marked current) of each entry in the header's main menu."""
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>", html.index('<nav class="site-nav"'))]
    return [(m.group(1), bool(m.group(2))) for m in re.finditer(r'<a href="([^"]+)"( aria-current="page")?', nav)]


def _codes(app, email: str) -> list[str]:
    """Activation codes mailed to `email`, newest first (mail goes to files without SMTP_URL)."""
    mails = stored_mails(app.extensions["backoffice_config"].mail_dir, limit=500)
    return [activation_code(m) for m in mails if m.to == email and m.subject == "Код подтверждения регистрации"]


def test_every_role_lands_on_its_work_and_may_open_every_entry_of_its_menu(backend, make_app) -> None:
    app = make_app(**ENV)
    assert set(MENUS) - {None} == set(ROLES)  # every role has its menu
    for role in ROLES:
        client = client_from(app)
        landed = login(client, add_user(app, role))
        assert landed.status_code == 302 and landed.location == LANDING[role], (role, landed.location)
        home = client.get("/")
        if role == "citizen":
            assert home.status_code == 200
        else:
            assert home.status_code == 302 and home.location == LANDING[role]
        for entry in menu_for(role):
            page = client.get(_url(app, entry.endpoint), follow_redirects=True)  # /apply: its first step
            assert page.status_code == 200, (role, entry.endpoint, page.status_code)
            html = page.get_data(as_text=True)
            menu = _menu(html)
            assert [href for href, _ in menu] == [_url(app, e.endpoint) for e in menu_for(role)], (role, menu)
            assert (_url(app, entry.endpoint), True) in menu, (role, entry.endpoint)
            if role != "citizen":
                assert "Подать заявление" not in html and "Мои заявки" not in html, (role, entry.endpoint)
        assert home_endpoint(role) in {e.endpoint for e in menu_for(role)} | {"public.home"}


def _url(app, endpoint: str) -> str:
    with app.test_request_context():
        return url_for(endpoint)


def test_anonymous_visitors_are_told_why_to_log_in_and_come_back(backend, make_app) -> None:
    app = make_app(**ENV)
    client = client_from(app)
    anonymous_menu = [href for href, _ in _menu(client.get("/").get_data(as_text=True))]
    assert anonymous_menu == ["/apply", "/apply/organization", "/policy-check", "/verify", "/faq"]

    sent = client.get("/apply")
    assert sent.status_code == 302 and sent.location == "/login?next=/apply"
    page = client.get(sent.location).get_data(as_text=True)
    assert "Чтобы подать заявление, войдите в свою учётную запись или зарегистрируйтесь." in page
    assert 'href="/register?next=/apply"' in page  # a newcomer keeps the way back too
    assert login(client, add_user(app, "citizen"), next_url="/apply").location == "/apply"

    for path, reason in [("/applications", "Чтобы открыть свои заявления, войдите"),
                         ("/inbox", "Эта страница для сотрудников.")]:
        other = client_from(app)
        assert other.get(path).location == f"/login?next={path}"
        assert reason in other.get(f"/login?next={path}").get_data(as_text=True)
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        fresh = client_from(app)
        assert login(fresh, add_user(app, "operator"), next_url=target).location == "/inbox"


def test_error_pages_speak_to_people_and_give_the_support_contacts(backend, make_app) -> None:
    client = client_from(make_app(**ENV))
    missing = client.get("/no-such-page")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "Такой страницы нет." in html
    assert "Запрошенный объект не найден" not in html
    assert 'href="tel:+78005553535"' in html and "help@oms.example" in html
    assert "Служба поддержки: телефон" in client.get("/").get_data(as_text=True)  # the footer of every page


def test_resend_code_answers_the_same_and_replaces_the_old_code(backend, make_app) -> None:
    app = make_app(**ENV)
    client = client_from(app)
    email = unique_email("resend")
    token = csrf_token(client.get("/register").get_data(as_text=True))
    registered = client.post("/register", data=registration_form(email, token))
    assert registered.status_code == 302
    page = client.get(registered.location).get_data(as_text=True)
    assert "Отправить код ещё раз" in page and f'<input type="hidden" name="email" value="{email}">' in page
    [first] = _codes(app, email)

    answers = []
    for address in (email, unique_email("nobody"), add_user(app, "citizen")):
        other = client_from(app)
        sent = _resend(other, address)
        assert sent.status_code == 302 and sent.location.startswith("/activate?email=")
        answers.append(other.get(sent.location).get_data(as_text=True).replace(address, "АДРЕС"))
    texts = [re.search(r'<p class="flash[^>]*>([^<]+)</p>', a).group(1) for a in answers]
    assert texts[0] == texts[1] == texts[2]
    assert "мы отправили на него новый код. Прежний код больше не действует." in texts[0]

    second, _ = _codes(app, email)  # only the pending address got a letter
    assert len(_codes(app, email)) == 2 and second != first
    old = client.post("/activate", data={"email": email, "code": first, "csrf_token": token})
    assert old.status_code == 422 and "Неверный код подтверждения" in old.get_data(as_text=True)
    activated = client.post("/activate", data={"email": email, "code": second, "csrf_token": token})
    assert activated.status_code == 302 and activated.location == "/"
    assert client.get("/api/v1/auth/me").get_json()["email"] == email  # signed in by the code

    too_many = client_from(app)
    address = add_user(app, "citizen")
    assert [_resend(too_many, address).status_code for _ in range(4)] == [302, 302, 302, 429]
    empty = _resend(client_from(app), "")
    assert empty.status_code == 302 and empty.location == "/activate"
    assert client_from(app).post("/api/v1/auth/activate/resend", json={"email": unique_email()}).status_code == 202


def _resend(client, email: str):
    token = csrf_token(client.get("/activate").get_data(as_text=True))
    return client.post("/activate/resend", data={"email": email, "csrf_token": token})


def test_activation_after_an_anonymous_visit_returns_to_the_page_asked_for(backend, make_app) -> None:
    app = make_app(**ENV)
    client = client_from(app)
    email = unique_email("next")
    token = csrf_token(client.get("/register?next=/apply").get_data(as_text=True))
    registered = client.post("/register", data=registration_form(email, token, next="/apply"))
    assert registered.location.startswith("/activate?email=") and "next=/apply" in registered.location
    page = client.get(registered.location).get_data(as_text=True)
    [code] = _codes(app, email)
    done = client.post("/activate", data={"email": email, "code": code, "next": "/apply",
                                          "csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.location == "/apply"
    assert PASSWORD not in page


def test_verify_form_reads_the_number_as_printed(product: Product) -> None:
    client = product.client()
    form = client.get("/verify")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and '<label for="f-number"' in html and '<label for="f-code"' in html
    token = csrf_token(html)

    empty = client.post("/verify", data={"number": "", "code": "", "csrf_token": token})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and 'class="error-summary"' in html
    number_block = html[html.index('<label for="f-number"'):html.index('id="f-number"')]
    assert "Введите номер справки" in number_block

    token_api = product.citizen_token()
    number = product.apply(token_api)["number"]
    product.wait_status(token_api, number, "ready")
    cert = f"{number}-1"
    with product.app.app_context():
        from web.extensions import db

        assert db.session.query(Certificate).filter_by(number=cert).count() == 1
    code = verification_code("test-secret-key", cert)

    printed = "№\u00a0" + cert.replace("-", "\u2011", 1) + " от 01.02.2026"  # a typographic dash, NBSP
    valid = client.post("/verify", data={"number": printed, "code": f" {code} ", "csrf_token": token})
    assert valid.status_code == 200 and "Справка действительна" in valid.get_data(as_text=True)
    whole = client.post("/verify", data={"number": f"http://127.0.0.1:8000/verify/{cert}?code={code}",
                                         "code": "", "csrf_token": token})
    assert whole.status_code == 200 and "Справка действительна" in whole.get_data(as_text=True)

    wrong = client.get(f"/verify/{cert}?code=AAAAAAAAAAAA")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 404 and "Справка не найдена" in html
    assert 'id="f-number"' in html and f'value="{cert}"' in html  # the same form, to correct the code
    short = client.post("/verify", data={"number": cert, "code": "AAAA", "csrf_token": token})
    assert short.status_code == 422 and "В коде проверки 12 символов" in short.get_data(as_text=True)
    bare = client.get(f"/verify/{cert}")
    assert bare.status_code == 200 and f'value="{cert}"' in bare.get_data(as_text=True)
