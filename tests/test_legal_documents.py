"""Versioned legal documents on both backends: a new version in LEGAL_DOCUMENTS_DIR is asked for at the
next request of a signed-in citizen (pages: the acceptance page and back; API: 403 `consent_required`),
and nothing else works until it is accepted. A version published for a later day waits for it.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

from sqlalchemy import select

from forms.dates import today_moscow
from tasks.accounts.models import LegalAcceptance, User
from tasks.config import BUNDLED_LEGAL_DOCUMENTS
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
from tests.support.smtp import activation_code


def _publish(folder, document: str, version: str, effective, text: str) -> None:
    (folder / document / f"{version}.html").write_text(
        f"<!--\nversion: {version}\neffective: {effective.isoformat()}\n-->\n<p>{text}</p>\n", encoding="utf-8")


def _legal_app(make_app, tmp_path, **env: str):
    folder = tmp_path / "legal"
    shutil.copytree(BUNDLED_LEGAL_DOCUMENTS, folder)
    return make_app(LEGAL_DOCUMENTS_DIR=str(folder), **env), folder


def test_a_new_version_blocks_the_api_until_accepted(backend, make_app, tmp_path):
    app, folder = _legal_app(make_app, tmp_path)
    client = client_from(app)
    email = add_user(app, "citizen")
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    assert client.get("/api/v1/applications", headers=bearer(token)).status_code == 200

    _publish(folder, "consent", "3", today_moscow() + timedelta(days=30), "Будущая редакция")
    assert client.get("/api/v1/applications", headers=bearer(token)).status_code == 200  # not in effect yet
    _publish(folder, "consent", "2", today_moscow(), "Новая редакция согласия")
    blocked = client.get("/api/v1/applications", headers=bearer(token))
    error = blocked.get_json()["error"]
    assert blocked.status_code == 403 and error["code"] == "consent_required"
    assert [(f["field"], f["code"]) for f in error["fields"]] == [("consent_version", "consent_required")]
    assert "редакция 2" in error["fields"][0]["message"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200  # who am I still answers

    documents = {d["document"]: d for d in client.get("/api/v1/legal/documents").get_json()["documents"]}
    assert documents["consent"]["version"] == "2" and documents["terms"]["version"] == "1"
    assert documents["consent"]["url"].endswith("/legal/consent/2")
    old = client.post("/api/v1/legal/acceptances", json={"consent_version": "1"}, headers=bearer(token))
    assert old.status_code == 422 and old.get_json()["error"]["fields"][0]["code"] == "outdated_version"
    accepted = client.post("/api/v1/legal/acceptances", json={"consent_version": "2"}, headers=bearer(token))
    assert accepted.status_code == 200
    assert [d["version"] for d in accepted.get_json()["accepted"]] == ["2"] and accepted.get_json()["pending"] == []
    assert client.get("/api/v1/applications", headers=bearer(token)).status_code == 200

    operator = add_user(app, "operator")  # staff accept no portal documents
    assert client.post("/api/v1/legal/acceptances", json={}, headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/legal/acceptances", json={"consent_version": "2"}).status_code == 401
    staff_token = client.post("/api/v1/auth/token", json={"email": operator, "password": PASSWORD,
                                                          "otp": fresh_otp(app, operator)}).get_json()["token"]
    refused = client.post("/api/v1/legal/acceptances", json={"consent_version": "2"}, headers=bearer(staff_token))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    staff_page = client_from(app)
    assert login(staff_page, operator).status_code == 302
    assert staff_page.get("/inbox").status_code == 200


def test_pages_send_the_citizen_to_accept_and_back(backend, make_app, tmp_path):
    app, folder = _legal_app(make_app, tmp_path)
    client = client_from(app)
    email = add_user(app, "citizen")
    assert login(client, email).status_code == 302
    assert client.get("/applications").status_code == 200

    _publish(folder, "terms", "2", today_moscow(), "Новый пункт соглашения")
    sent = client.get("/applications")
    assert sent.status_code == 302 and sent.location == "/legal/accept?next=/applications"
    assert client.get("/notifications").location.startswith("/legal/accept")
    page = client.get(sent.location).get_data(as_text=True)
    assert "Новый пункт соглашения" in page and "редакция 2 от" in page
    assert 'name="terms_version" value="2"' in page and 'name="consent_version"' not in page
    assert client.get("/legal/terms/1").status_code == 200 and client.get("/legal/terms/9").status_code == 404

    unchecked = client.post("/legal/accept", data={"terms_version": "2", "next": "/applications",
                                                   "csrf_token": csrf_token(page)})
    assert unchecked.status_code == 422 and 'id="f-terms-error"' in unchecked.get_data(as_text=True)
    done = client.post("/legal/accept", data={"terms": "on", "terms_version": "2", "next": "/applications",
                                              "csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.location == "/applications"
    assert client.get("/applications").status_code == 200
    assert client.get("/legal/accept").status_code == 302  # nothing left to accept


def test_api_registration_accepts_the_versions_in_force_and_the_gate_asks_for_later_ones(
        backend, make_app, tmp_path, smtp_server):
    app, folder = _legal_app(make_app, tmp_path, SMTP_URL=smtp_server.url)
    client = client_from(app)
    _publish(folder, "consent", "2", today_moscow(), "Новая редакция согласия")
    stale = client.post("/api/v1/auth/register", json=citizen(unique_email(), consent_version="1"))
    assert stale.status_code == 422
    assert [(f["field"], f["code"]) for f in stale.get_json()["error"]["fields"]] == [
        ("consent_version", "outdated_version")]
    assert "редакция 2" in stale.get_json()["error"]["fields"][0]["message"]

    email = unique_email("contract")
    assert client.post("/api/v1/auth/register", json=citizen(email)).status_code == 201  # names no version
    code = activation_code(smtp_server.wait_for_mail(email))
    assert client.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    assert client.get("/api/v1/applications", headers=bearer(token)).status_code == 200
    with backend.services.database.session() as s:
        user_id = s.scalar(select(User.id).where(User.email == email))
        rows = s.scalars(select(LegalAcceptance).where(LegalAcceptance.user_id == user_id)).all()
        assert {(r.document, r.version, r.channel) for r in rows} == {("terms", "1", "api"), ("consent", "2", "api")}

    _publish(folder, "terms", "2", today_moscow(), "Новый пункт соглашения")  # after the person accepted
    blocked = client.get("/api/v1/applications", headers=bearer(token))
    assert blocked.status_code == 403 and blocked.get_json()["error"]["code"] == "consent_required"
    assert [f["field"] for f in blocked.get_json()["error"]["fields"]] == ["terms_version"]
