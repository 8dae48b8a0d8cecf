"""The change-of-data service in a real browser: from the portal's service list to the changed ЕРЗЛ record,
then a refusal and its appeal.

In headless Chromium on a phone-sized screen, on a registry of the test's own: the citizen finds the
service on the home page (it is listed from workflows/services.toml: no page was written for it), fills
the one-form page drawn from its schema (an empty submit shows the errors next to the fields and the
focused summary), gets the confirmation, and the case page reads «Одобрено» once ЕРЗЛ's record carries
the new surname and passport; «Мои заявки» names the service. A second application with a surname the
new passport does not bear is refused («В изменении данных отказано», with the reason), appealed on the
case page, overturned by an appeals specialist in the inbox - and the record is changed.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from forms.dates import format_ru_date
from tests.support.accounts import add_user, unique_email
from tests.support.browser import fits_the_screen, log_in, phone_browser
from tests.support.data_change import TITLE, change_body, erzl_policy
from tests.support.product import Product

STATUS_TIMEOUT = 90
# The service's button: «Подать заявление» and, for screen readers, the service (Chromium joins the hidden
# part with a space: «Подать заявление : …»).
APPLY = re.compile(rf"^Подать заявление\s*: {re.escape(TITLE)}$")


def label(text: str) -> re.Pattern[str]:
    """Exactly this label (a required field's ends with « *»): «Фамилия», not the choice «Фамилия после …»."""
    return re.compile(rf"^{re.escape(text)}(?:\s*\*)?$")


def fill_change_form(page: Page, last_name: str) -> None:
    body = change_body(last_name=last_name)
    person, passport = body["person"], body["person"]["passport"]
    page.get_by_label(label("Номер полиса ОМС")).fill(body["policy_number"])
    page.get_by_label("Фамилия после заключения или расторжения брака и новый паспорт").check()
    page.get_by_label(label("Фамилия")).fill(person["last_name"])
    page.get_by_label(label("Имя")).fill(person["first_name"])
    page.get_by_label(label("Отчество")).fill(person["middle_name"])
    page.get_by_label("Дата рождения").fill(format_ru_date(person["birth_date"]))
    page.get_by_label("СНИЛС").fill(person["snils"])
    page.get_by_label("Серия").fill(passport["series"])
    page.get_by_label(label("Номер")).fill(passport["number"])
    page.get_by_label("Дата выдачи").fill(format_ru_date(passport["issued_on"]))
    page.get_by_label("Кем выдан").fill(passport["issued_by"])
    page.get_by_label("Код подразделения").fill(passport["division_code"])
    page.get_by_label("Даю согласие на обработку моих персональных данных").check()


def apply_on_the_portal(page: Page, base: str, last_name: str) -> str:
    """From the home page's service list through the form to the confirmation: the case number."""
    page.goto(base + "/")
    page.get_by_role("link", name=APPLY).click()
    expect(page.get_by_role("heading", name="Заявление на изменение данных в полисе ОМС", level=1)).to_be_visible()
    fill_change_form(page, last_name)
    page.get_by_role("button", name="Подать заявление").click()
    expect(page.get_by_role("heading", name="Заявление принято")).to_be_visible()
    expect(page.locator(".details")).to_contain_text(TITLE)
    number = page.locator(".panel__number strong").inner_text()
    page.get_by_role("link", name="Перейти к заявлению").click()
    return number


def wait_for_status(page: Page, label_text: str) -> None:
    """Reload the case page until its status reads `label_text`."""
    deadline = time.monotonic() + STATUS_TIMEOUT
    while label_text not in page.locator(".case-status").inner_text():
        assert time.monotonic() < deadline, f"still «{page.locator('.case-status').inner_text()}»"
        time.sleep(1)
        page.reload()


def test_change_of_data_from_the_service_list_to_the_registry_and_an_appeal(change_product: Product) -> None:
    product, registry = change_product, change_product.registry
    email = unique_email("newname")
    product.citizen_token(email, last_name="Лебедева", first_name="Ксения")
    specialist = add_user(product.app, "appeals")

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        page.goto(base + "/")
        services = page.locator("#services")
        expect(services.get_by_role("heading", name=TITLE)).to_be_visible()
        expect(services.get_by_role("heading", name="Справка о наличии полиса ОМС", exact=True)).to_be_visible()

        page.get_by_role("link", name=APPLY).click()
        page.get_by_role("button", name="Подать заявление").click()  # empty: every error in place
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("Что изменилось — выберите, что изменилось")
        expect(page.locator(".field--error", has=page.get_by_label(label("Фамилия")))).to_be_visible()
        assert fits_the_screen(page)

        number = apply_on_the_portal(page, base, "Лебедева")
        expect(page.get_by_role("heading", name=f"Заявление № {number}")).to_be_visible()
        wait_for_status(page, "Одобрено")
        expect(page.locator(".panel--success")).to_contain_text("внесены в единый регистр застрахованных лиц")
        assert erzl_policy(registry)["holder"]["last_name"] == "Лебедева"
        assert fits_the_screen(page)

        page.get_by_role("link", name="← Мои заявки").click()
        item = page.locator(".case-list__item").filter(has_text=number)
        expect(item).to_contain_text(TITLE)
        expect(item).to_contain_text("Одобрено")

        # A surname the new passport does not bear: refused, appealed, overturned.
        refused = apply_on_the_portal(page, base, "Петрова")
        wait_for_status(page, "Отклонено")
        panel = page.locator(".panel--error")
        expect(panel).to_contain_text("В изменении данных отказано")
        expect(panel).to_contain_text("не совпадают с данными владельца паспорта")
        appeal = page.get_by_role("link", name="Обжаловать отказ")
        for _ in range(60):  # offered once the refusal's decision and notice are out
            if appeal.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        appeal.click()
        page.get_by_label("Доводы жалобы").fill("В новом паспорте фамилия Петрова, прикладываю его копию.")
        page.get_by_role("button", name="Подать жалобу").click()
        expect(page.locator(".flashes")).to_contain_text(f"Жалоба № A-{refused} зарегистрирована")

        product.wait_task(product.staff_token("appeals"), refused, "appeal_review")
        staff = page.context.browser.new_context(viewport=page.viewport_size, locale="ru-RU").new_page()
        log_in(staff, base, specialist, "/inbox", app=product.app)
        staff.goto(f"{base}/inbox?queue=group&q={refused}")
        staff.locator("#tasks tbody tr").filter(has_text=refused).get_by_role("link", name=refused).click()
        staff.get_by_role("button", name="Взять в работу").click()
        staff.get_by_label(re.compile("^Удовлетворить жалобу")).check()
        staff.get_by_label("Ответ заявителю").fill("Фамилия подтверждена по копии паспорта, отказ отменён.")
        staff.get_by_role("button", name="Выполнить задачу").click()
        expect(staff.locator(".flash--success")).to_contain_text("Задача выполнена")

        page.goto(f"{base}/applications/{refused}")
        wait_for_status(page, "Одобрено")
        expect(page.locator(".appeal-list")).to_contain_text("Фамилия подтверждена по копии паспорта")
        assert erzl_policy(registry)["holder"]["last_name"] == "Петрова"  # the overturned change
