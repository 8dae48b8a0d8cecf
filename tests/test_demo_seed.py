"""`backoffice demo seed`: one account per role, random passwords kept owner-readable, idempotent."""

from __future__ import annotations

import stat
from urllib.parse import urlsplit

from backoffice.demo_seed import DEMO_ACCOUNTS
from tests.support.accounts import client_from, csrf_token
from tests.support.backend import Backend


def test_demo_seed_creates_working_accounts_once(backend: Backend, make_app) -> None:
    first = backend.backoffice("demo", "seed")
    lines = [line.split() for line in first.stdout.splitlines() if "@demo.local" in line]
    assert {line[0] for line in lines} == {role for _, role, _ in DEMO_ACCOUNTS}
    assert all(len(line) == (3 if line[0] == "citizen" else 4) for line in lines)  # staff: + enrolment link
    path = backend.data_dir / "demo-accounts.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "already exist" in backend.backoffice("demo", "seed").stdout
    client = client_from(make_app())
    _role, email, password = next(line for line in lines if line[0] == "citizen")[:3]
    r = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert r.status_code == 200, r.get_json()
    _role, email, password, link = next(line for line in lines if line[0] == "operator")
    r = client.post("/api/v1/auth/token", json={"email": email, "password": password})  # staff enrol first
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "totp_enrolment_required", r.get_json()
    # The seeded link lets the demo staff member enrol an authenticator on the login page.
    assert link.startswith("http://127.0.0.1:8000/login/enrol/")
    assert client.get(urlsplit(link).path).status_code == 302
    login_page = client.get("/login").get_data(as_text=True)
    step = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(login_page)})
    assert step.status_code == 302 and step.location == "/login/enrol"
