"""Migration 0020 seals the TOTP secrets stored before it, and its downgrade opens them again.

Run on a database of its own (a fresh PostgreSQL database, or SQLite in a temporary folder), stopped at
revision 0015 with a staff member enrolled the old way, then upgraded as an operator would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyotp
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tasks.accounts.secret_box import unseal
from tests.conftest import PG_ADMIN
from web.app import create_app
from web.extensions import db

SECRET_KEY = "a-key-for-this-test-only"


@pytest.fixture(params=["postgres", "embedded"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "embedded":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    name = f"bo_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0020_seals_existing_secrets_and_the_downgrade_opens_them(database_url: str, tmp_path: Path) -> None:
    from tasks.config import AppConfig

    env = {"BACKOFFICE_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
    app = create_app(AppConfig.from_env(env), connect_services=False)
    plain = pyotp.random_base32()
    with app.app_context():
        upgrade(revision="0015")
        db.session.execute(text(
            "INSERT INTO app_user (email, password_hash, role, is_active, created_at, totp_secret, sms_opt_in) "
            "VALUES ('old@example.ru', 'x', 'operator', true, CURRENT_TIMESTAMP, :secret, false)"), {"secret": plain})
        db.session.commit()
        upgrade(revision="0020")
        stored = db.session.scalar(text("SELECT totp_secret FROM app_user WHERE email = 'old@example.ru'"))
        assert plain not in stored and stored.startswith("fernet:")
        assert unseal(SECRET_KEY, stored) == plain
        db.session.commit()
        downgrade(revision="0015")
        assert db.session.scalar(text("SELECT totp_secret FROM app_user WHERE email = 'old@example.ru'")) == plain
        db.session.commit()
        db.engine.dispose()
