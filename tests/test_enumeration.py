"""The pages never tell whether an address has an account: registering a taken address and a new one
lead to the same page and words (the owner gets a letter instead), activating an active account reads
exactly like an unknown address; and the policy check takes its ЕНП and birth date only by POST.
"""

from __future__ import annotations

import re

from tests.support.accounts import add_user, client_from, csrf_token, registration_form, unique_email
from tests.support.product import Product
from tests.support.registry import demo_person
from tests.support.smtp import SmtpServer


def _register(client, email: str):
    token = csrf_token(client.get("/register").get_data(as_text=True))
    return client.post("/register", data=registration_form(email, token))


_TOKENS = re.compile(r'name="csrf_token" value="[^"]+"|<meta name="csrf-token" content="[^"]+">')


def _neutral(html: str, email: str) -> str:
    """The page with the address and the per-session CSRF tokens taken out."""
    return _TOKENS.sub("", re.sub(r"\s+", " ", html.replace(email, "{email}")))


def test_register_and_activate_pages_answer_alike_for_every_address(backend, make_app, smtp_server: SmtpServer):
    app = make_app(SMTP_URL=smtp_server.url)
    taken, fresh = add_user(app, "citizen"), unique_email()
    first, second = client_from(app), client_from(app)
    for_taken, for_fresh = _register(first, taken), _register(second, fresh)
    assert for_taken.status_code == for_fresh.status_code == 302
    assert for_taken.location.replace(taken, "{email}") == for_fresh.location.replace(fresh, "{email}")
    taken_page = _neutral(first.get(for_taken.location).get_data(as_text=True), taken)
    assert taken_page == _neutral(second.get(for_fresh.location).get_data(as_text=True), fresh)
    assert smtp_server.wait_for_mail(taken).subject == "Попытка повторной регистрации"
    assert smtp_server.wait_for_mail(fresh).subject == "Код подтверждения регистрации"

    answers = []
    for email in (taken, unique_email()):
        client = client_from(app)
        token = csrf_token(client.get("/activate").get_data(as_text=True))
        r = client.post("/activate", data={"email": email, "code": "123456", "csrf_token": token})
        answers.append((r.status_code, _neutral(r.get_data(as_text=True), email)))
    assert answers[0] == answers[1] and answers[0][0] == 422


def test_the_policy_check_page_takes_its_data_by_post_only(product: Product) -> None:
    client = product.client()
    demo = demo_person("valid")
    page = client.get(f"/policy-check?enp={demo['policy_number']}&birth_date=14.03.1985").get_data(as_text=True)
    assert re.search(r'<form[^>]+method="post"[^>]+action="/policy-check"|<form[^>]+action="/policy-check"'
                     r'[^>]+method="post"', page)
    assert "Полис действует" not in page and demo["policy_number"] not in page  # a query string checks nothing
