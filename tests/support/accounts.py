"""Helpers for tests that need the web app and user accounts."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.backend import Backend
from web.accounts.service import AccountService
from web.app import create_app
from web.extensions import db

PASSWORD = "Верный-пароль-2024"
_CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.ru"


def citizen(email: str, **changes: object) -> dict:
    """A valid registration body (CONTRACT: POST /auth/register)."""
    data = {"email": email, "password": PASSWORD, "phone": "+79991234567", "last_name": "Иванова",
            "first_name": "Мария", "middle_name": "Петровна", "birth_date": "1985-03-05"}
    data.update(changes)
    return data


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_user(app: Flask, role: str, email: str | None = None) -> str:
    """An active account with PASSWORD, made through the same service as `backoffice users add`."""
    with app.app_context():
        user, _ = AccountService(db.session, app.config["SECRET_KEY"]).create_user(
            email or unique_email(role), role, PASSWORD, last_name="Петров", first_name="Пётр")
        return user.email


def login(client: FlaskClient, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Log in through the login page, as a browser does (CSRF token from the form)."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


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
        app = create_app(backend.settings(), config=backend.config(**env))
        apps.append(app)
        return app

    yield make
    for app in apps:  # each app has its own pool: give the connections back to PostgreSQL
        with app.app_context():
            db.engine.dispose()
