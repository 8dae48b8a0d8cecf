"""Demo accounts for a first look at the system (`backoffice demo seed`, run by `backoffice run` once).

Passwords are random, never in the repository: they are printed once and kept in
`<data dir>/demo-accounts.txt` (readable by the owner only) so a newcomer can log in. Staff accounts come
with their one-time link for enrolling an authenticator, as an administrator would hand it over.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.settings import Settings
from tasks.config import AppConfig

DEMO_ACCOUNTS = (
    ("citizen@demo.local", "citizen", {"last_name": "Иванов", "first_name": "Сергей", "middle_name": "Петрович",
                                       "birth_date": "1985-03-14", "enp": "2977276931098025", "inn": "772325999777"}),
    ("operator@demo.local", "operator", {"last_name": "Смирнова", "first_name": "Ольга"}),
    ("appeals@demo.local", "appeals", {"last_name": "Кузнецов", "first_name": "Дмитрий"}),
    ("support@demo.local", "support", {"last_name": "Морозова", "first_name": "Елена"}),
    ("supervisor@demo.local", "supervisor", {"last_name": "Попова", "first_name": "Анна"}),
    ("analyst@demo.local", "analyst", {"last_name": "Волков", "first_name": "Игорь"}),
    ("admin@demo.local", "admin", {"last_name": "Соколов", "first_name": "Максим"}),
)


def accounts_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-accounts.txt"


def seed_demo(config: AppConfig) -> list[tuple[str, str, str, str]]:
    """Create the demo accounts that do not exist yet; returns (email, role, password, enrolment link or "")
    of the new ones."""
    from datetime import date

    from tasks.accounts.service import AccountService
    from tasks.legal.acceptance import record_vouched
    from tasks.legal.catalogue import load_catalogue
    from web.accounts.enrolment_pages import enrolment_url
    from web.app import create_app
    from web.extensions import db

    app = create_app(config, connect_services=False)
    created = []
    with app.app_context():
        service = AccountService(db.session, config.secret_key)
        for email, role, profile in DEMO_ACCOUNTS:
            if service.find_by_email(email) is not None:
                continue
            fields = dict(profile)
            if "birth_date" in fields:
                fields["birth_date"] = date.fromisoformat(fields["birth_date"])
            user, password = service.create_user(email, role, None, **fields)
            if not user.is_staff:
                record_vouched(db.session, user.id, load_catalogue(config.legal_dir))
            link = (enrolment_url(config.public_base_url, service.issue_enrolment_link(email, "demo-seed"))
                    if user.is_staff else "")
            created.append((email, role, password or "", link))
        db.engine.dispose()
    if created:
        _remember(accounts_file(config.settings), created)
    return created


def _remember(path: Path, created: list[tuple[str, str, str, str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        for email, role, password, link in created:
            fh.write(f"{role:<11} {email:<24} {password} {link}".rstrip() + "\n")
