"""A citizen with a refused case resubmits corrected data on the case page, in a real browser.

The case is refused over the API (the applicant typed a policy number the register does not know);
then, in headless Chromium on a phone-sized screen: log in -> the case page shows the reasons, the
refusal decision and «Подать повторно» -> the form comes prefilled with the submitted data, the
policy number marked as the field the refusal concerns, no field path or code anywhere -> a wrong
number gives an error next to the field and in the focused summary at the top, and changes nothing
-> the right number, a file and a comment -> the case is checked again and becomes «Готово к
скачиванию» under the same number, attempt 2. No staff step is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from weasyprint import HTML

from tests.support.accounts import add_user, unique_email
from tests.support.browser import fits_the_screen, log_in, phone_browser, wait_until_ready
from tests.support.product import Product
from tests.support.registry import demo_person, demo_policies, demo_records


def test_citizen_resubmits_a_refused_case_in_a_browser(product: Product, tmp_path: Path) -> None:
    demo = demo_person("policy_number_unknown")
    right = sorted(demo_policies(demo_records("policy_number_unknown")[0]), key=lambda p: p["status"] == "active")[-1]
    email = unique_email("browser")
    token = product.citizen_token(email, last_name=demo["person"]["last_name"],
                                  first_name=demo["person"]["first_name"])
    number = product.apply(token, "policy_number_unknown")["number"]
    product.wait_status(token, number, "rejected")
    scan = tmp_path / "полис.pdf"
    HTML(string="<h1>Копия полиса ОМС</h1>").write_pdf(scan)

    with phone_browser(product) as (base, page):
        log_in(page, base, email)

        resubmit = _offered(page, f"{base}/applications/{number}", "Подать повторно")
        expect(page.locator(".panel--error")).to_contain_text("Неверный номер полиса")
        expect(page.get_by_role("link", name="Скачать решение об отказе")).to_be_visible()
        assert fits_the_screen(page)
        resubmit.click()

        expect(page.get_by_role("heading", name="Подать повторно", level=1)).to_be_visible()
        policy = page.get_by_label("Номер полиса ОМС")
        expect(policy).to_have_value(demo["policy_number"])  # prefilled with what was submitted
        expect(page.get_by_label("Фамилия")).to_have_value(demo["person"]["last_name"])
        assert "связано с причиной отказа" in page.locator(
            f"#{policy.get_attribute('aria-describedby').split()[0]}").inner_text()
        assert fits_the_screen(page)

        assert not technical_names(page.locator("main").inner_text())

        policy.fill("1234567890123456")  # a wrong check digit
        page.get_by_role("button", name="Подать повторно").click()
        policy_field = page.locator(".field--error", has=page.get_by_label("Номер полиса ОМС"))
        expect(policy_field.locator(".field-error")).to_be_visible()  # the error next to the field
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()  # right under the heading, where the screen starts
        expect(summary).to_contain_text("Номер полиса ОМС — номер полиса ОМС введён с ошибкой")
        summary.get_by_role("link").first.click()
        expect(page.get_by_label("Номер полиса ОМС")).to_be_focused()
        assert not technical_names(page.locator("main").inner_text())
        expect(page.get_by_label("Номер полиса ОМС")).to_have_value("1234567890123456")

        page.get_by_label("Номер полиса ОМС").fill(right["enp"])
        page.get_by_label("Вид документов").select_option(label="Копия полиса ОМС")
        page.get_by_label("Файлы").set_input_files(str(scan))
        page.get_by_label("Комментарий").fill("Исправил номер полиса, прикладываю копию.")
        page.get_by_label("Даю согласие на обработку моих персональных данных").check()
        page.get_by_role("button", name="Подать повторно").click()

        expect(page.get_by_role("heading", name=f"Заявление № {number}")).to_be_visible()
        expect(page.locator(".flashes")).to_contain_text("подано повторно (попытка 2)")
        wait_until_ready(page)
        expect(page.locator("main")).to_contain_text(f"{number}/2")
        expect(page.locator(".file-list")).to_contain_text("полис.pdf")
        expect(page.get_by_role("link", name="Скачать справку (PDF)")).to_be_visible()
        assert fits_the_screen(page)


def test_appeal_filed_on_the_page_is_overturned_in_the_inbox(product: Product) -> None:
    """Refused (the passport was reported lost) -> the citizen appeals on the case page -> an appeals
    specialist signs in with the second factor, claims the appeal in the inbox and overturns it ->
    the citizen's case page offers the certificate."""
    email = unique_email("appellant")
    token = product.citizen_token(email)
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")
    specialist = add_user(product.app, "appeals")

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        appeal = _offered(page, f"{base}/applications/{number}", "Обжаловать отказ")
        appeal.click()
        page.get_by_role("button", name="Подать жалобу").click()  # empty: the error next to the field
        expect(page.locator(".field--error", has=page.get_by_label("Доводы жалобы"))).to_be_visible()
        page.get_by_label("Доводы жалобы").fill("Паспорт найден, заявление об утрате отозвано.")
        page.get_by_role("button", name="Подать жалобу").click()
        expect(page.locator(".flashes")).to_contain_text(f"Жалоба № A-{number} зарегистрирована")
        expect(page.locator(".appeal-list")).to_contain_text("рассматривается")
        expect(page.locator(".appeal-list")).to_contain_text("Срок рассмотрения")
        assert fits_the_screen(page)

        product.wait_task(product.staff_token("appeals"), number, "appeal_review")
        staff = page.context.browser.new_context(viewport=page.viewport_size, locale="ru-RU").new_page()
        log_in(staff, base, specialist, "/inbox", app=product.app)
        staff.goto(f"{base}/inbox?queue=group&q={number}")
        staff.locator("#tasks tbody tr").filter(has_text=number).get_by_role("link", name=number).click()
        staff.get_by_role("button", name="Взять в работу").click()
        expect(staff.locator(".case-screen__applicant")).to_be_visible()
        staff.get_by_label("Удовлетворить жалобу: отменить отказ и выдать справку").check()
        staff.get_by_label("Ответ заявителю").fill("Паспорт действителен, отказ отменён.")
        staff.get_by_role("button", name="Выполнить задачу").click()
        expect(staff.locator(".flash--success")).to_contain_text("Задача выполнена")

        page.reload()
        wait_until_ready(page)
        expect(page.locator(".appeal-list")).to_contain_text("Паспорт действителен, отказ отменён.")
        expect(page.get_by_role("link", name="Скачать справку (PDF)")).to_be_visible()


def technical_names(text: str) -> list[str]:
    """Words a person should never read: field paths (person.snils), codes (policy_number), Latin words."""
    return re.findall(r"\b[a-z]\w*(?:[._]\w+)+\b|\b[A-Za-z]*[a-z][A-Za-z]*\b", text)


def _offered(page: Page, case_url: str, action: str) -> Locator:
    """The case page's link to `action`, once offered: the case waits for the citizen only after its
    decision and notice are out, so the page is reloaded until then (30 s at most)."""
    page.goto(case_url)
    link = page.get_by_role("link", name=action)
    for _ in range(60):
        if link.count():
            return link
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"«{action}» not offered on {case_url} within 30 s")
