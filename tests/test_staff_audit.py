"""The staff audit of a case: every journal row with people named; the applicant keeps the filtered history."""

from __future__ import annotations

from tasks.cases.queries import CITIZEN_EVENTS
from tests.support.accounts import PASSWORD, add_user, bearer, fresh_otp, login, unique_email
from tests.support.product import Product


def _staff(product: Product, role: str) -> tuple[str, str]:
    """(e-mail, Bearer token) of a new staff member (enrolled TOTP: tests.support.accounts)."""
    email = add_user(product.app, role)
    r = product.client().post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(product.app, email)})
    assert r.status_code == 200, r.get_json()
    return email, r.get_json()["token"]


def _audit(product: Product, token: str, number: str) -> list[dict]:
    r = product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_audit_names_every_reader_and_the_citizen_sees_only_their_history(product: Product):
    citizen_email = unique_email("citizen")
    citizen = product.citizen_token(citizen_email)
    number = product.apply(citizen)["number"]
    product.wait_status(citizen, number, "ready")

    operator_email, operator = _staff(product, "operator")
    assert product.client().get(f"/api/v1/applications/{number}", headers=bearer(operator)).status_code == 200
    supervisor_email, supervisor = _staff(product, "supervisor")

    items = _audit(product, supervisor, number)
    events = [i["event"] for i in items]
    assert events[0] == "started" and "service_completed" in events
    views = [i for i in items if i["event"] == "case_viewed"]
    by_operator = [v for v in views if v["actor_name"] == f"Петров Пётр ({operator_email})"]
    assert len(by_operator) == 1
    assert by_operator[0]["actor_role"] == "Оператор" and by_operator[0]["access"] is True
    assert by_operator[0]["details"]["role"] == "operator"
    assert any(v["actor_name"] == f"Иванов Сергей ({citizen_email})" and v["actor_role"] == "Заявитель"
               for v in views)
    statuses = [i["message"] for i in items if i["event"] == "status_changed"]
    assert statuses[0] == "«Принято»" and statuses[-1].endswith("→ «Готово к скачиванию»")
    service = next(i for i in items if i["event"] == "service_completed")
    assert service["actor_name"] == "Обработчик сервисных задач" and service["details"]["operator"]

    # The audit view itself is journaled, with the viewer and {"view": "audit"}.
    again = _audit(product, supervisor, number)
    audit_views = [i for i in again if i["event"] == "case_viewed" and (i["details"] or {}).get("view") == "audit"]
    assert len(audit_views) == 1
    assert audit_views[0]["actor_name"] == f"Петров Пётр ({supervisor_email})"
    assert audit_views[0]["actor_role"] == "Руководитель"

    # The applicant's own history: the filtered events only, no reads, nobody named.
    own = product.case(citizen, number)["journal"]
    assert own and {e["event"] for e in own} <= CITIZEN_EVENTS and "case_viewed" not in CITIZEN_EVENTS
    assert {e["actor"] for e in own} <= {"ведомство", "заявитель"}
    assert product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(citizen)).status_code == 403

    # Someone else's case does not exist for another citizen; the audit is for case workers only.
    stranger = product.citizen_token()
    assert product.client().get(f"/api/v1/applications/{number}", headers=bearer(stranger)).status_code == 404
    assert product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(stranger)).status_code == 403
    _, analyst = _staff(product, "analyst")
    assert product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(analyst)).status_code == 403
    assert _audit(product, operator, number)  # every case-working role may read it
    assert product.client().get("/api/v1/applications/1999-999999/audit", headers=bearer(supervisor)).status_code == 404


def test_audit_page_for_staff(product: Product):
    citizen_email = unique_email("citizen")
    citizen = product.citizen_token(citizen_email)
    number = product.apply(citizen)["number"]
    operator_email, operator = _staff(product, "operator")
    assert product.client().get(f"/api/v1/applications/{number}", headers=bearer(operator)).status_code == 200

    browser = product.client()
    login(browser, add_user(product.app, "supervisor"))
    r = browser.get(f"/staff/cases/{number}/journal")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f"Журнал заявления №\u00a0{number}" in html
    assert f"Петров Пётр ({operator_email})" in html and "Просмотр заявления" in html and "Доступ к ПДн" in html
    assert "Смена статуса" in html and "«Принято»" in html

    citizen_browser = product.client()
    login(citizen_browser, citizen_email)
    assert citizen_browser.get(f"/staff/cases/{number}/journal").status_code == 403
    own_page = citizen_browser.get(f"/applications/{number}").get_data(as_text=True)
    assert "Просмотр заявления" not in own_page and operator_email not in own_page
