"""Helpers for tests that need the web app and user accounts."""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterator

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import utcnow
from tasks.accounts.models import User
from tasks.accounts.secret_box import seal, unseal
from tasks.accounts.service import AccountService, normalize_email
from tasks.config import BUNDLED_LEGAL_DOCUMENTS
from tasks.legal import acceptance as legal
from tasks.legal.catalogue import load_catalogue
from tests.support.backend import Backend
from web.app import create_app
from web.extensions import db
from web.legal.gate import current_catalogue

PASSWORD = "Верный-пароль-2024"
_CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.ru"


# A ЕНП with a right check digit (forms.identifiers.check_enp), and the bundled legal documents' versions.
ENP = "7700000000000016"


def accepted_versions() -> dict[str, str]:
    """`{terms_version, consent_version}` of the bundled documents: what a registration accepts."""
    return {d.field: d.version for d in load_catalogue(BUNDLED_LEGAL_DOCUMENTS).all_current()}


def citizen(email: str, **changes: object) -> dict:
    """The public API's registration body (POST /auth/register): no ЕНП, no document versions."""
    data = {"email": email, "password": PASSWORD, "phone": "+79991234567", "last_name": "Иванова",
            "first_name": "Мария", "middle_name": "Петровна", "birth_date": "1985-03-05"}
    data.update(changes)
    return data


def registration_form(email: str, csrf: str, **changes: object) -> dict:
    """What the registration page posts: the fields as typed, the hidden versions and both boxes ticked."""
    data = {**citizen(email), **accepted_versions(), "birth_date": "05.03.1985", "terms": "on", "consent": "on",
            "csrf_token": csrf}
    data.update(changes)
    return data


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_user(app: Flask, role: str, email: str | None = None) -> str:
    """An active account with PASSWORD, made through the same service as `backoffice users add`.

    Staff get an enrolled TOTP secret (written straight to the table, as if they had enrolled on the
    login page), so they can log in at once: `fresh_otp` gives their codes. Citizens have accepted the
    legal documents in force (as at registration), so the login gate lets them through.
    """
    with app.app_context():
        user, _ = AccountService(db.session, app.config["SECRET_KEY"]).create_user(
            email or unique_email(role), role, PASSWORD, last_name="Петров", first_name="Пётр")
        if user.is_staff:
            user.totp_secret = seal(app.config["SECRET_KEY"], pyotp.random_base32())
        else:
            legal.record(db.session, user.id, current_catalogue().all_current(), channel="page")
        db.session.commit()
        return user.email


def fresh_otp(app: Flask, email: str) -> str:
    """A code of the user's TOTP secret that the server has not accepted yet.

    Codes are single-use (the last accepted time step is stored), so a second login of the same user
    within 30 s takes the next step's code, which the server accepts (it allows one step of clock
    drift); only a third one within the same step waits for the clock to move on.
    """
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
        assert user is not None and user.totp_secret, f"{email} has no TOTP secret"
        secret, last = unseal(app.config["SECRET_KEY"], user.totp_secret), user.totp_last_step
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(utcnow())  # the product's clock (tests/support/clock.py)
        step = now if last is None or last < now else last + 1
        if step <= now + 1:
            return totp.generate_otp(step)
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)


def login(client: FlaskClient, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Log in through the login page, as a browser does (CSRF token from the form).

    Enrolled staff are taken through the second step with a fresh code; the last response is returned.
    """
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    response = client.post("/login", data=data)
    if response.status_code == 302 and response.location.startswith("/login/code"):  # staff: second step
        page = client.get(response.location).get_data(as_text=True)
        response = client.post("/login/code", data={"email": normalize_email(email), "csrf_token": csrf_token(page),
                                                    "otp": fresh_otp(client.application, email)})
    return response


def client_from(app: Flask) -> FlaskClient:
    """A test client with its own client IP, so rate-limit budgets of different tests never mix."""
    client = app.test_client()
    a, b, c = random.randint(0, 255), random.randint(0, 255), random.randint(1, 254)
    client.environ_base["REMOTE_ADDR"] = f"10.{a}.{b}.{c}"
    return client


@pytest.fixture
def make_app(backend: Backend) -> Iterator[Callable[..., Flask]]:
    """`make_app(SMTP_URL=..., FRAME_ANCESTORS=...)`: the real app on the test backend, env overrides applied."""
    apps: list[Flask] = []

    def make(**env: str) -> Flask:
        app = create_app(backend.config(**env))
        apps.append(app)
        return app

    yield make
    for app in apps:  # each app has its own pool: give the connections back to PostgreSQL
        with app.app_context():
            db.engine.dispose()
