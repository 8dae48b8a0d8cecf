"""«Мой полис» on both backends: the signed-in citizen's own policy from ЕРЗЛ (the real registry service over
HTTP) found by the profile's ЕНП, or without one by its СНИЛС and birth date, over the API and on the page;
an expired or annulled one says what to do next; a profile that does not match ЕРЗЛ's record shows nothing
of it; every look-up is journaled."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import JournalEntry
from tasks.accounts.models import User
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, login
from tests.support.backend import Backend
from tests.support.registry import RegistryService, demo_policies, demo_records
from web.extensions import db


@pytest.fixture
def app(make_app, registry_service: RegistryService) -> Flask:
    return make_app(REGISTRY_URL=registry_service.url)


def _citizen(app: Flask, scenario: str | None, **changes: Any) -> tuple[str, int, dict[str, Any]]:
    """A citizen whose profile is the demo person of `scenario` (ЕНП of their latest policy), with `changes`."""
    email = add_user(app, "citizen")
    record = demo_records(scenario)[0] if scenario else {}
    policy = max(demo_policies(record), key=lambda p: p["valid_from"]) if scenario else {}
    profile = {"last_name": record.get("last_name", "Петров"), "first_name": record.get("first_name", "Пётр"),
               "middle_name": record.get("middle_name"), "enp": policy.get("enp"),
               "birth_date": record.get("birth_date", "1990-01-01"), **changes}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for key, value in profile.items():
            setattr(user, key, date.fromisoformat(value) if key == "birth_date" and value else value)
        db.session.commit()
        return email, user.id, policy


def _api(app: Flask, email: str) -> tuple[int, dict]:
    client = client_from(app)
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    r = client.get("/api/v1/me/policy", headers=bearer(token))
    return r.status_code, r.get_json()


def _page(app: Flask, email: str) -> tuple[int, str]:
    client = client_from(app)
    assert login(client, email).status_code == 302
    r = client.get("/me/policy")
    return r.status_code, r.get_data(as_text=True)


def _journal(backend: Backend, user_id: int) -> list[dict]:
    with backend.services.database.session() as s:
        rows = s.scalars(select(JournalEntry).where(JournalEntry.event == "policy_viewed",
                                                    JournalEntry.actor == f"user:{user_id}")).all()
        return [r.details for r in rows]


def test_an_active_policy_over_the_api_and_the_page(app: Flask, backend: Backend):
    email, user_id, policy = _citizen(app, "valid")
    status, body = _api(app, email)
    assert status == 200
    assert body["outcome"] == "found" and body["status"] == "active" and body["enp"] == policy["enp"]
    assert body["insurer"] == policy["insurer"] and body["region"] == policy["region"]
    assert body["valid_from"] == policy["valid_from"] and body["valid_to"] == policy["valid_to"]
    assert body["actions"] == [] and body["next_steps"] is None and body["status_label"] == "Полис действует"
    status, html = _page(app, email)
    assert status == 200
    for text in ("Мой полис ОМС", "Полис действует", policy["enp"], policy["insurer"]["name"], policy["region"]):
        assert text in html, text
    assert "Что делать" not in html
    assert [(d["channel"], d["outcome"]) for d in _journal(backend, user_id)] == [("api", "found"), ("page", "found")]


def test_ye_for_yo_in_the_profile_still_finds_the_policy(app: Flask):
    email, _, policy = _citizen(app, "yo_spelling", last_name="Федоров", first_name="Петр", middle_name="Семенович")
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "found" and body["enp"] == policy["enp"]


@pytest.mark.parametrize("scenario, label", [("policy_expired", "Срок действия полиса истёк"),
                                             ("policy_annulled", "Полис аннулирован")])
def test_an_expired_or_annulled_policy_says_what_to_do(app: Flask, scenario: str, label: str):
    email, _, policy = _citizen(app, scenario)
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "found" and body["status"] == policy["status"]
    assert body["status_label"] == label and body["next_steps"]
    assert [a["action"] for a in body["actions"]] == ["certificate", "support_request"]
    assert body["actions"][0]["url"] == "/apply" and body["actions"][1]["url"].startswith("/support/new")
    status, html = _page(app, email)
    assert status == 200 and label in html and "Что делать" in html
    assert 'href="/apply"' in html and 'href="/support/new?type=other"' in html
    if policy.get("reason"):
        assert policy["reason"] in html and body["reason"] == policy["reason"]


@pytest.mark.parametrize("changes", [{"birth_date": "1985-03-15"}, {"last_name": "Смирнов"},
                                     {"snils": demo_records("policy_expired")[0]["snils"]}],
                         ids=["birth_date", "last_name", "someone_elses_snils"])
def test_a_profile_that_does_not_match_the_record_shows_nothing(app: Flask, backend: Backend, changes):
    email, user_id, policy = _citizen(app, "valid", **changes)
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "not_found"
    assert body["enp"] is None and body["insurer"] is None and body["status"] is None and body["actions"] == []
    status, html = _page(app, email)
    assert status == 200 and "Полис не найден" in html
    assert policy["enp"] not in html and policy["insurer"]["name"] not in html
    assert [d["outcome"] for d in _journal(backend, user_id)] == ["not_found", "not_found"]


def test_without_an_enp_the_snils_and_the_birth_date_find_the_policy(app: Flask, backend: Backend):
    record = demo_records("valid")[0]
    email, user_id, policy = _citizen(app, "valid", enp=None, snils=record["snils"])
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "found" and body["status"] == "active"
    assert body["enp"] == policy["enp"] and body["insurer"] == policy["insurer"]
    status, html = _page(app, email)
    assert status == 200 and "Полис действует" in html
    assert policy["enp"] in html and policy["insurer"]["name"] in html
    assert [(d["channel"], d["outcome"]) for d in _journal(backend, user_id)] == [("api", "found"), ("page", "found")]


def test_a_snils_whose_record_has_another_birth_date_shows_nothing(app: Flask, backend: Backend):
    record = demo_records("valid")[0]
    other_day = (date.fromisoformat(record["birth_date"]) + timedelta(days=1)).isoformat()
    email, user_id, policy = _citizen(app, "valid", enp=None, snils=record["snils"], birth_date=other_day)
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "not_found" and "СНИЛС" in body["message"]
    assert body["enp"] is None and body["insurer"] is None and body["status"] is None
    status, html = _page(app, email)
    assert status == 200 and "Полис не найден" in html
    assert policy["enp"] not in html and policy["insurer"]["name"] not in html
    assert [d["outcome"] for d in _journal(backend, user_id)] == ["not_found", "not_found"]


def test_a_profile_without_a_policy_number_or_snils_is_asked_for_one(app: Flask):
    email, _, _ = _citizen(app, None, enp=None)
    status, body = _api(app, email)
    assert status == 200 and body["outcome"] == "no_identity"
    assert "ЕНП" in body["message"] and "СНИЛС" in body["message"]
    status, html = _page(app, email)
    assert status == 200 and "Не хватает данных" in html and 'href="/account"' in html
    assert "номер полиса ОМС (ЕНП) или СНИЛС" in html


def test_only_a_signed_in_citizen_sees_their_policy(app: Flask, registry_service: RegistryService):
    client = client_from(app)
    assert client.get("/api/v1/me/policy").status_code == 401
    r = client.get("/me/policy")
    assert r.status_code == 302 and r.location.startswith("/login")
    staff = client_from(app)
    assert login(staff, add_user(app, "operator")).status_code == 302
    assert staff.get("/me/policy").status_code == 403
    email, _, _ = _citizen(app, "valid")
    with registry_service.faults_set("erzl:down"):
        status, body = _api(app, email)
        assert status == 503 and body["error"]["code"] == "registry_unavailable"
        status, html = _page(app, email)
        assert status == 503 and "временно недоступен" in html
