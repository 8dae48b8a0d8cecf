"""Deployment defaults: a public health answer without reasons, the demo mailbox only on the demo switch,
X-Forwarded-For trusted only for the configured proxies, HSTS where configured."""

from __future__ import annotations

import logging
import random
import socket
from pathlib import Path

from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_public_health_names_no_reason_admins_and_the_log_do(backend, make_app, caplog) -> None:
    app = make_app(REGISTRY_URL=f"http://127.0.0.1:{_closed_port()}")
    with caplog.at_level(logging.WARNING, logger="web.health"):
        public = client_from(app).get("/api/v1/health")
    assert public.status_code == 503
    assert public.get_json()["registry"] == "error" and set(public.get_json().values()) <= {"ok", "error"}
    assert "NewConnectionError" not in public.get_data(as_text=True)
    assert "health: registry error: NewConnectionError" in caplog.text  # the operators' copy of the reason

    admin = add_user(app, "admin")
    client = client_from(app)
    token = client.post("/api/v1/auth/token",
                        json={"email": admin, "password": PASSWORD, "otp": fresh_otp(app, admin)}).get_json()["token"]
    detailed = client.get("/api/v1/health", headers=bearer(token))
    assert detailed.status_code == 503 and detailed.get_json()["registry"].startswith("error: NewConnectionError")
    operator = add_user(app, "operator")
    op_token = client.post("/api/v1/auth/token", json={"email": operator, "password": PASSWORD,
                                                       "otp": fresh_otp(app, operator)}).get_json()["token"]
    assert client.get("/api/v1/health", headers=bearer(op_token)).get_json()["registry"] == "error"


def test_the_demo_mailbox_needs_the_demo_switch(backend, make_app) -> None:
    assert client_from(make_app(SMTP_URL="")).get("/demo/mailbox").status_code == 404  # embedded, no switch
    assert client_from(make_app(SMTP_URL="", DEMO_MAILBOX="1")).get("/demo/mailbox").status_code == 200
    run_recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DEMO_MAILBOX=1 $(VENV)/bin/backoffice run" in run_recipe
    assert "DEMO_MAILBOX" not in (ROOT / "Dockerfile").read_text()


def _spend_lookup_budget(client, forwarded_for: str) -> int:
    """Status of the 31st verification lookup (budget: 30 per minute per client address)."""
    for _ in range(30):
        assert client.get("/verify/2026-000001", headers={"X-Forwarded-For": forwarded_for}).status_code != 429
    return client.get("/verify/2026-000001", headers={"X-Forwarded-For": forwarded_for}).status_code


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(backend, make_app) -> None:
    net = f"10.{random.randrange(256)}.{random.randrange(256)}"
    proxy = f"{net}.250"
    behind = client_from(make_app(TRUSTED_PROXIES="1"))
    behind.environ_base["REMOTE_ADDR"] = proxy
    assert _spend_lookup_budget(behind, f"{net}.1") == 429
    assert behind.get("/verify/2026-000001", headers={"X-Forwarded-For": f"{net}.2"}).status_code != 429

    direct = client_from(make_app())  # no proxy configured: a forged header changes nothing
    direct.environ_base["REMOTE_ADDR"] = f"{net}.251"
    for i in range(30):
        direct.get("/verify/2026-000001", headers={"X-Forwarded-For": f"{net}.{i + 3}"})
    assert direct.get("/verify/2026-000001", headers={"X-Forwarded-For": f"{net}.99"}).status_code == 429


def test_hsts_where_configured(backend, make_app) -> None:
    assert "Strict-Transport-Security" not in client_from(make_app()).get("/login").headers
    secure = client_from(make_app(HSTS="1")).get("/login")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
