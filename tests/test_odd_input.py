"""Odd input is a 400 (or 404/422) in the API's error shape, never a 500: JSON nested 5,000 deep, integers
a column cannot hold (in a body, in a query, in a path), NaN, the NUL character no text column can hold;
and nothing is changed by such a request.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tasks.support.models import SupportRequest
from tests.support.accounts import PASSWORD, add_user, bearer, citizen, client_from, login, unique_email
from web.extensions import db

HUGE = "99999999999999999999"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def _token(client, email: str) -> str:
    return client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]


def test_deeply_nested_json_is_a_400(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    deep = "[" * 5000 + "]" * 5000
    error = _error(client.post("/api/v1/auth/register", data=deep, content_type="application/json"),
                   400, "invalid_json")
    assert "глубоко" in error["message"]
    email = unique_email()
    fields = ",".join(f'"{k}": "{v}"' for k, v in citizen(email).items())
    nested = "{" + fields + ', "extra": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}"
    _error(client.post("/api/v1/auth/register", data=nested, content_type="application/json"), 400, "invalid_json")
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == email)) is None  # nothing was stored

    token = _token(client, add_user(app, "citizen"))
    _error(client.post("/api/v1/applications", data=deep, headers=bearer(token), content_type="application/json"),
           400, "invalid_json")


def test_integers_a_column_cannot_hold_are_a_400(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    email = add_user(app, "citizen")
    token = _token(client, email)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Application))
    body = '{"applicant": "individual", "document_ids": [' + str(10**30) + "]}"
    error = _error(client.post("/api/v1/applications", data=body, headers=bearer(token),
                               content_type="application/json"), 400, "invalid_json")
    assert "слишком большое число" in error["message"]
    _error(client.post("/api/v1/applications", data='{"applicant": NaN}', headers=bearer(token),
                       content_type="application/json"), 400, "invalid_json")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == before

    for url in (f"/api/v1/applications?limit={HUGE}", f"/api/v1/applications?offset={HUGE}",
                f"/api/v1/notifications?offset={HUGE}", f"/api/v1/applications?offset=-{HUGE}"):
        error = _error(client.get(url, headers=bearer(token)), 400, "invalid_parameter")
        assert "слишком большое число" in error["message"], url
    assert client.get("/api/v1/applications?limit=5", headers=bearer(token)).status_code == 200
    _error(client.get(f"/api/v1/applications/2026-000001/documents/{HUGE}", headers=bearer(token)), 404, "not_found")

    pages = client_from(app)
    assert login(pages, email).status_code == 302
    assert pages.get(f"/applications?page={HUGE}").status_code == 400
    assert pages.get(f"/notifications?page={HUGE}").status_code == 400
    assert pages.get("/applications?page=2").status_code == 200


def test_the_nul_character_is_refused_before_it_reaches_the_database(backend, make_app):
    app = make_app(SMTP_URL="", DEMO_MAILBOX="1")
    client = client_from(app)
    token = _token(client, add_user(app, "citizen"))
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(SupportRequest))
    text = "Не открывается страница заявления"
    error = _error(client.post("/api/v1/support-requests", json={"type": "other", "text": text + "\u0000"},
                               headers=bearer(token)), 400, "invalid_json")
    assert "NUL" in error["message"]
    _error(client.post("/api/v1/support-requests", json={"type": "other", "text": text, "case_number": "\u0000"},
                       headers=bearer(token)), 400, "invalid_json")
    error = _error(client.post("/api/v1/support-requests", data={"type": "other", "text": text + "\x00"},
                               headers=bearer(token), content_type="multipart/form-data"), 400, "invalid_parameter")
    assert "«text»" in error["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SupportRequest)) == before
    _error(client.post("/api/v1/auth/password-reset", json={"email": "name\u0000@example.ru"}), 400, "invalid_json")
    _error(client.get("/api/v1/applications?q=%00", headers=bearer(token)), 400, "invalid_parameter")
    _error(client.get("/api/v1/support-requests/O-2026-%00001", headers=bearer(token)), 404, "not_found")
    _error(client.get("/api/v1/applications/2026-%00001", headers=bearer(token)), 404, "not_found")
    # the same body without NUL reaches the view's own validation
    _error(client.post("/api/v1/support-requests", json={"type": "other", "text": "кратко"}, headers=bearer(token)),
           422, "validation_failed")
