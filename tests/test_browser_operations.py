"""«Эксплуатация» in headless Chromium against the whole product (registry service, workers, scheduler, SMTP).

Incidents: ЕРЗЛ is down (the registry's own fault switch) while two organisations' employee lists are
checked, so each check becomes an incident; a supervisor finds both on the incidents page, and once the
fault is lifted selects both and retries them; the page shows each one's outcome and both cases complete.
Timers: a supervisor moves a case's review deadline with a reason, then fires it now with another; the
case goes on to the supervisor's review and both actions are in the case's journal with the reasons.
Citizens and operators get 403 on both pages.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from playwright.sync_api import expect

from engine.clock import utcnow
from tasks.documents.formatting import DOCUMENT_TZ
from tests.support.accounts import add_user, bearer
from tests.support.backend import wait_for
from tests.support.browser import chromium, log_in, served
from tests.support.employees import demo_employees, employees_csv, head_token, journal_events, submit, upload
from tests.support.product import Product
from tests.support.screenshots import Screenshots

DESKTOP = {"width": 1366, "height": 900}
OPERATOR = "employees.check_batch"


def _incidents(product: Product, token: str, numbers: list[str]) -> list[dict]:
    r = product.client().get("/api/v1/incidents", query_string={"operator": OPERATOR}, headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return [i for i in r.get_json()["items"] if i["case"] in numbers]


def _audit(product: Product, token: str, number: str, event: str) -> list[dict]:
    r = product.client().get(f"/api/v1/applications/{number}/audit", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return [e for e in r.get_json()["items"] if e["event"] == event]


def test_incidents_retried_together_from_the_page_and_a_timer_moved_then_fired(
        product_with, screenshots: Screenshots) -> None:
    product = product_with(REGISTRY_RETRY_MAX_ATTEMPTS="2", REGISTRY_BREAKER_RESET="1")
    api = product.staff_token("supervisor")
    head = head_token(product)
    numbers = [submit(product, head), submit(product, head)]
    with product.registry.faults_set("erzl:down"):
        for number in numbers:
            assert upload(product, head, number, employees_csv(demo_employees(insured=2))).status_code == 200
        incidents = wait_for(lambda: (found := _incidents(product, api, numbers)) and len(found) == 2 and found,
                             timeout=120, message="an ЕРЗЛ incident for each case")

    citizen = product.citizen_token()
    review = product.apply(citizen, "yo_spelling")["number"]
    product.wait_task(product.staff_token("operator"), review, "operator_review")
    boss = add_user(product.app, "supervisor")
    with served(product) as base, chromium() as browser:
        for role in ("citizen", "operator"):
            page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
            log_in(page, base, add_user(product.app, role), app=None if role == "citizen" else product.app)
            page.wait_for_url(lambda url: "/login" not in url)
            for path in ("/operations/incidents", "/operations/timers"):
                assert page.goto(f"{base}{path}").status == 403, (role, path)
            page.context.close()

        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, boss, "/dashboard", app=product.app)
        # ЕРЗЛ is back: both incidents are on the page; select both and retry them together.
        page.goto(f"{base}/operations/incidents")
        page.get_by_label("Сервис").select_option(OPERATOR)
        page.get_by_role("button", name="Показать").click()
        for incident in incidents:
            row = page.locator(f'tr[data-incident="{incident["id"]}"]')
            expect(row).to_contain_text(incident["case"])
            row.locator(f'#pick-{incident["id"]}').check()
        screenshots.take(page, "operations-incidents")
        page.get_by_role("button", name="Повторить выбранные").click()
        results = page.locator("#retry-results")
        for incident in incidents:
            expect(results.locator(f'li[data-incident="{incident["id"]}"]')).to_have_attribute(
                "data-outcome", "requeued")
            expect(results.locator(f'li[data-incident="{incident["id"]}"]')).to_contain_text(
                "Отправлен на повторное выполнение")
        for number in numbers:
            assert product.wait_status(head, number, "ready", "rejected", timeout=120)["status"] == "ready"
            assert "incident_retried" in journal_events(product, number)
        page.goto(f"{base}/operations/incidents?operator={OPERATOR}")
        for incident in incidents:
            expect(page.locator(f'tr[data-incident="{incident["id"]}"]')).to_have_count(0)

        # The review deadline: moved with a reason, then fired now with another.
        page.goto(f"{base}/operations/timers")
        page.get_by_label("Номер заявления").fill(review)
        page.get_by_role("button", name="Показать").click()
        row = page.locator(f'tr[data-case="{review}"][data-element="operator_review_sla"]')
        expect(row).to_contain_text("Срок проверки истёк")
        row.locator("summary").click()
        later = (utcnow() + timedelta(days=20)).astimezone(DOCUMENT_TZ).replace(second=0, microsecond=0)
        row.get_by_label("Новый срок").fill(later.strftime("%d.%m.%Y %H:%M"))
        row.get_by_label("Причина переноса").fill("Праздничные дни")
        row.get_by_role("button", name="Перенести срок").click()
        expect(page.get_by_text("Срок таймера перенесён.")).to_be_visible()
        expect(row.locator("time")).to_have_attribute("datetime", later.astimezone(UTC).isoformat())
        row.locator("summary").click()
        row.get_by_label("Причина срабатывания").fill("Оператор в отпуске")
        screenshots.take(page, "operations-timers")
        row.get_by_role("button", name="Сработать сейчас").click()
        expect(page.get_by_text("Срок наступил: таймер сработал.")).to_be_visible()
        expect(row).to_have_count(0)

    product.wait_task(product.staff_token("supervisor"), review, "supervisor_review")
    [moved] = _audit(product, api, review, "timer_rescheduled")
    assert "причина: Праздничные дни" in moved["facts"] and moved["actor_role"]
    fired = _audit(product, api, review, "timer_fired")
    assert fired and "причина: Оператор в отпуске" in fired[-1]["facts"] and fired[-1]["actor_role"]
