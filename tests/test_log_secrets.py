"""Nothing secret or personal in any log line: a whole journey - register, activate, apply, the
certificate, a policy check, a staff search by СНИЛС, a password reset - runs against the real
`backoffice web`, worker and scheduler processes with their output captured, and the log is searched
for the codes, the e-mail, ФИО, СНИЛС, ЕНП, the passport, the birth date, the passwords and the tokens.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.accounts import PASSWORD, add_user, fresh_otp, unique_email
from tests.support.backend import Backend, Cluster, wait_for
from tests.support.product import deploy_product, product_env, this_year_period
from tests.support.registry import RegistryService, demo_person, free_port
from tests.support.smtp import SmtpServer, activation_code
from web.app import create_app
from web.extensions import db

NEW_PASSWORD = "Другой-длинный-пароль-7"


def _forms(value: str) -> set[str]:
    """A value as it may be printed: as typed, its digits alone, a СНИЛС grouped, a date as ДД.ММ.ГГГГ."""
    forms = {value}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6:
        forms.add(digits)
    if len(digits) == 11:
        forms.add(f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        year, month, day = value.split("-")
        forms.add(f"{day}.{month}.{year}")
    return forms


def test_a_whole_journey_leaves_nothing_secret_in_the_logs(backend: Backend, registry_service: RegistryService,
                                                           smtp_server: SmtpServer, tmp_path: Path) -> None:
    env = product_env(backend, registry_service, smtp_server)
    deploy_product(backend, env)
    extra = {k: v for k, v in env.items() if backend.env().get(k) != v}
    cluster, log, port = Cluster(backend), tmp_path / "product.log", free_port()
    try:
        cluster.spawn_logged(log, "web", "--port", str(port), **extra)
        cluster.spawn_logged(log, "worker", **extra)
        cluster.spawn_logged(log, "scheduler", **extra)
        secrets = _journey(f"http://127.0.0.1:{port}", env, smtp_server)
    finally:
        cluster.stop_all()

    text = log.read_text(encoding="utf-8")
    assert "GET /api/v1/applications" in text and "POST /api/v1/auth/register" in text  # the access lines are here
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == [], f"found in the logs: {leaked}"


def _journey(base: str, env: dict[str, str], smtp: SmtpServer) -> set[str]:
    """Run the journey over HTTP; return every secret and personal value it used."""
    http = httpx.Client(base_url=base, timeout=30)
    wait_for(lambda: _up(http), timeout=60, message="the web server")
    email = unique_email("journey")
    applicant = demo_person("valid")
    person = applicant["person"]
    body = {"email": email, "password": PASSWORD, "phone": "+79161234567", "last_name": person["last_name"],
            "first_name": person["first_name"], "birth_date": person["birth_date"]}
    assert http.post("/api/v1/auth/register", json=body).status_code == 201
    code = activation_code(smtp.wait_for_mail(email))
    assert http.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200
    token = http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    application = {"applicant": "individual", **applicant, "period": this_year_period()}
    number = http.post("/api/v1/applications", json=application, headers=auth).json()["number"]
    wait_for(lambda: http.get(f"/api/v1/applications/{number}", headers=auth).json()["status"] == "ready",
             timeout=120, interval=0.5, message="the certificate")
    assert http.get(f"/api/v1/applications/{number}/certificate.pdf", headers=auth).status_code == 200
    assert http.get("/api/v1/applications", params={"q": person["last_name"]}, headers=auth).status_code == 200
    policy = {"enp": applicant["policy_number"], "birth_date": person["birth_date"]}
    assert http.post("/api/v1/policies/check", json=policy).status_code == 200

    staff_token = _staff_search(http, env, person["snils"])
    assert http.post("/api/v1/auth/password-reset", json={"email": email}).status_code == 202
    reset_code = activation_code(smtp.wait_for_mail(email, subject="Сброс пароля"))
    confirmed = http.post("/api/v1/auth/password-reset/confirm",
                          json={"email": email, "code": reset_code, "password": NEW_PASSWORD})
    assert confirmed.status_code == 200, confirmed.text

    values = {email, email.split("@")[0], code, reset_code, token, staff_token, PASSWORD, NEW_PASSWORD,
              person["last_name"], person["first_name"], person["snils"], person["birth_date"],
              applicant["policy_number"], person["passport"]["number"], person["inn"]}
    return {form for value in values if value for form in _forms(value)}


def _staff_search(http: httpx.Client, env: dict[str, str], snils: str) -> str:
    """An operator's token (password + TOTP) and an inbox search by СНИЛС: the query string goes to the URL."""
    from tasks.config import AppConfig

    app = create_app(AppConfig.from_env(env))
    try:
        operator = add_user(app, "operator")
        r = http.post("/api/v1/auth/token", json={"email": operator, "password": PASSWORD,
                                                   "otp": fresh_otp(app, operator)})
        token = r.json()["token"]
        found = http.get("/api/v1/tasks", params={"queue": "group", "q": snils},
                         headers={"Authorization": f"Bearer {token}"})
        assert found.status_code == 200, found.text
        return token
    finally:
        with app.app_context():
            db.engine.dispose()


def _up(http: httpx.Client) -> bool:
    try:
        return http.get("/login").status_code == 200
    except httpx.HTTPError:
        return False
