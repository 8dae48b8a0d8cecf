"""An operator works a case in a real browser (headless Chromium, phone-sized screen).

A citizen's application goes to operator review (the ё/е spelling scenario); the operator logs in
(password, then the TOTP code), sees the task in the group queue with the applicant masked, claims it,
opens it (the applicant unmasked, the registry checks), approves it through the task's form, and the
case becomes «Готово к скачиванию».
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.accounts import add_user
from tests.support.browser import fits_the_screen, log_in, phone_browser
from tests.support.product import Product


def test_operator_claims_opens_and_completes_a_task_in_a_browser(product: Product) -> None:
    token = product.citizen_token()
    person = product.application_body("yo_spelling")["person"]
    number = product.apply(token, "yo_spelling")["number"]
    product.wait_task(product.staff_token("operator"), number, "operator_review")
    email = add_user(product.app, "operator")

    with phone_browser(product) as (base, page):
        log_in(page, base, email, app=product.app)  # an operator lands on the inbox
        page.wait_for_url(f"{base}/inbox")
        page.get_by_text("Меню", exact=True).click()  # the header menu folds away on a phone
        page.locator(".site-nav").get_by_role("link", name="Задачи", exact=True).click()
        page.get_by_role("link", name="Задачи группы").click()
        page.get_by_label("Поиск").fill(number)
        page.get_by_role("button", name="Показать").click()

        row = page.locator("#tasks tbody tr").filter(has_text=number)
        masked = f"{person['last_name']} {person['first_name'][0]}. {person['middle_name'][0]}."
        expect(row).to_contain_text(masked)
        expect(row).not_to_contain_text(person["middle_name"])
        page.wait_for_load_state("load")  # stylesheets applied: then no sideways scrolling on a phone
        assert fits_the_screen(page)
        row.get_by_role("button", name=re.compile("Взять в работу задачу")).click()

        expect(page.get_by_role("heading", level=1)).to_contain_text(number)
        expect(page.locator("#task-assignee")).to_contain_text("Петров Пётр")
        expect(page.locator(".case-screen__applicant")).to_contain_text(person["middle_name"])
        expect(page.locator("#checks")).to_contain_text("Полис ОМС (ЕРЗЛ)")
        page.wait_for_load_state("load")
        assert fits_the_screen(page)

        page.get_by_label("Одобрить и выдать справку").check()
        page.get_by_role("button", name="Выполнить задачу").click()
        expect(page.locator(".flash--success")).to_contain_text("Задача выполнена")
    assert product.wait_status(token, number, "ready")["status"] == "ready"
