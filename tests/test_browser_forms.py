"""Form pages in a real browser (headless Chromium): errors in sight, one behaviour for dependent fields.

The organisation's application is the longest form of the portal (one page, about 30 inputs): after a
failed submit its error summary is right under the heading, focused and on the first screen, at desktop
and phone sizes, and each of its links moves the focus to the field it names. The power of attorney's
fields stay hidden until «По доверенности» is chosen (without JavaScript they are shown with a hint
saying so); the optional bank block carries no required stars. The staff task form lists its errors
the same way.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.accounts import add_user, unique_email
from tests.support.browser import PHONE, fits_the_screen, log_in, phone_browser
from tests.support.product import Product

DESKTOP = {"width": 1366, "height": 768}
# Where a summary link's focus must land: the element it names, or the first input inside it.
_FOCUS_TARGET = """href => {
  const target = document.getElementById(decodeURIComponent(href.slice(1)));
  const input = target.matches('input, select, textarea') ? target : target.querySelector('input, select, textarea');
  return document.activeElement === input;
}"""
_SUMMARY_ON_FIRST_SCREEN = """() => {
  const box = document.querySelector('.error-summary').getBoundingClientRect();
  return box.top >= 0 && box.top < window.innerHeight / 2;
}"""


def assert_summary_in_sight(page: Page) -> list[str]:
    """The summary holds the focus, sits on the first screen, and each link focuses its field; its links."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()  # waits for the page the submit loads: the old one may still be shown
    assert page.evaluate(_SUMMARY_ON_FIRST_SCREEN)
    links = summary.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs and all(h and h.startswith("#f-") for h in hrefs), hrefs
    for i, href in enumerate(hrefs):
        links.nth(i).click()
        assert page.evaluate(_FOCUS_TARGET, href), href
    return hrefs


def test_the_longest_form_shows_its_errors_at_the_top_and_hides_what_does_not_apply(product: Product) -> None:
    email = unique_email("forms")
    product.citizen_token(email)

    with phone_browser(product) as (base, page):
        page.set_viewport_size(DESKTOP)
        log_in(page, base, email)
        page.goto(f"{base}/apply/organization")

        poa = page.locator("#f-representative-power-of-attorney")
        poa_scan = page.get_by_label("Скан доверенности")
        expect(poa).to_be_hidden()  # «Руководитель организации» is chosen: no power of attorney
        expect(poa_scan).to_be_hidden()
        page.get_by_label("По доверенности").check()
        expect(poa).to_be_visible()
        expect(poa_scan).to_be_visible()
        expect(page.locator('label[for="f-representative-power-of-attorney-number"]')).to_have_text(
            re.compile(r"^Номер доверенности\s*\*$"), use_inner_text=True)
        page.get_by_label("Руководитель организации (без доверенности)").check()
        expect(poa).to_be_hidden()

        for name, label in (("bik", "БИК банка"), ("account", "Расчётный счёт"),
                            ("corr-account", "Корреспондентский счёт")):
            expect(page.locator(f'label[for="f-organization-bank-{name}"]')).to_have_text(label)  # no star
        expect(page.locator("#f-organization-bank-hint")).to_contain_text("Необязательно")
        expect(page.locator('label[for="f-organization-inn"]')).to_have_text(re.compile(r"^ИНН организации\s*\*$"))

        page.get_by_role("button", name="Подать заявление").click()
        expect(page.get_by_role("heading", name="Проверьте данные")).to_be_visible()
        hrefs = assert_summary_in_sight(page)
        assert "#f-organization-inn" in hrefs and "#f-consent" in hrefs and len(hrefs) >= 8
        expect(poa).to_be_hidden()  # still as chosen before the submit

        page.set_viewport_size(PHONE)
        page.get_by_role("button", name="Подать заявление").click()
        assert assert_summary_in_sight(page) == hrefs
        assert fits_the_screen(page)

        # Without JavaScript: the summary is still first under the heading, the dependent fields are all
        # shown, each with a hint naming the choice it is for.
        plain = page.context.browser.new_context(viewport=PHONE, java_script_enabled=False, locale="ru-RU").new_page()
        log_in(plain, base, email)
        plain.goto(f"{base}/apply/organization")
        expect(plain.locator("#f-representative-power-of-attorney")).to_be_visible()
        expect(plain.locator("#f-representative-power-of-attorney-hint")).to_contain_text(
            "Для варианта «По доверенности»")
        expect(plain.locator("#f-period-month-hint")).to_contain_text("Для варианта «Один месяц»")
        expect(plain.locator('label[for="f-representative-power-of-attorney-number"]')).to_have_text(
            "Номер доверенности", use_inner_text=True)  # not required while «Руководитель» is chosen
        plain.get_by_role("button", name="Подать заявление").click()
        assert plain.evaluate("document.querySelector('main h1').nextElementSibling.className") == "error-summary"
        expect(plain.locator(".error-summary")).to_have_attribute("role", "alert")


def test_the_staff_task_form_lists_its_errors_at_the_top(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "yo_spelling")["number"]
    product.wait_task(product.staff_token("operator"), number, "operator_review")
    email = add_user(product.app, "operator")

    with phone_browser(product) as (base, page):
        page.set_viewport_size(DESKTOP)
        log_in(page, base, email, next_path="/inbox", app=product.app)
        page.goto(f"{base}/inbox?queue=group&q={number}")
        page.locator("#tasks tbody tr").filter(has_text=number).get_by_role("link", name=number).click()
        page.get_by_role("button", name="Взять в работу").click()
        page.get_by_label("Отказать").check()
        page.get_by_role("button", name="Выполнить задачу").click()

        summary = page.locator(".error-summary")
        expect(summary).to_contain_text("Причины отказа — выберите хотя бы одну причину отказа")
        expect(summary).to_contain_text("Пояснение для заявителя")
        hrefs = assert_summary_in_sight(page)
        assert "#f-reasons-0" in hrefs and "#f-explanation" in hrefs
        expect(page.locator(".flashes")).to_have_count(0)  # no vague «ошибки указаны рядом с полями»
